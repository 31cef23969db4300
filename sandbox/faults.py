"""Injected failures for the fault-injection suite: what goes wrong, on which requests, how often.

The modes mirror the ways a real Lexware call can fail *around* its commit, because that is what decides
whether a client may retry: "before" (nothing happened), "after_commit" (it happened, the answer is an error),
"drop_after_commit" (it happened, the connection dies) and "slow_after_commit" (it happened, the answer arrives
after the client gave up). The "late_*" modes commit ``delay_seconds`` *after* the failure was answered, as a
backend that is still working when the gateway has given up: a lookup right after the failure finds nothing.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any, Literal

FaultMode = Literal["before", "after_commit", "drop_after_commit", "slow_after_commit",
                    "late_after_error", "late_after_drop", "late_after_timeout"]
FAULT_MODES: tuple[str, ...] = ("before", "after_commit", "drop_after_commit", "slow_after_commit",
                                "late_after_error", "late_after_drop", "late_after_timeout")
#: Modes whose request is executed only ``delay_seconds`` after the client got (or gave up on) its failure.
LATE_MODES: frozenset[str] = frozenset({"late_after_error", "late_after_drop", "late_after_timeout"})


@dataclass
class Fault:
    """``method``/``path`` None match any request; ``path`` matches as a prefix of the URL path."""

    id: str
    mode: FaultMode
    count: int
    status: int = 500
    method: str | None = "POST"
    path: str | None = "/v1/invoices"
    delay_seconds: float = 3.0
    retry_after: float | None = None

    def matches(self, method: str, path: str) -> bool:
        return ((self.method is None or self.method.upper() == method.upper())
                and (self.path is None or path.startswith(self.path)))

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultQueue:
    """Faults in the order they were added; a matching request consumes one use of the first match."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, **spec: Any) -> Fault:
        fault = Fault(id=f"fault-{next(self._ids)}", **spec)
        self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def remaining(self) -> list[dict[str, Any]]:
        return [f.as_json() for f in self._faults]

    def clear(self) -> None:
        self._faults.clear()
