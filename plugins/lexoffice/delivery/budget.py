"""How long one run may keep delivering, so a long backlog never holds back the next night's run.

The DAGs run with ``max_active_runs=1`` (one run per stream at a time) and ``catchup=False``: while a run is
still delivering, the scheduler creates no new run, and when it ends only the latest interval runs; the nights
in between would never be staged. So a delivery stops starting new requests once its budget is spent (default
22 hours, below the daily schedule), keeps the rest ``pending`` and ends successfully; the next run stages its
own window and delivers what is left, in the same order. ``LEXOFFICE_DELIVERY_BUDGET_SECONDS`` changes it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from lexoffice.settings import number_from_env

BUDGET_ENV = "LEXOFFICE_DELIVERY_BUDGET_SECONDS"
DEFAULT_BUDGET_SECONDS = 22 * 3600.0


def positive_seconds(env: str, default: float, example: str) -> float:
    """A positive number of seconds from the environment variable ``env`` (``default`` when unset)."""
    return number_from_env(env, default, unit="seconds", example=example)


def budget_seconds() -> float:
    """The budget from LEXOFFICE_DELIVERY_BUDGET_SECONDS (default 22 h)."""
    return positive_seconds(BUDGET_ENV, DEFAULT_BUDGET_SECONDS, "79200 for 22 hours")


@dataclass
class Budget:
    """A delivery's time budget, started when the delivery starts; None seconds = unlimited."""

    seconds: float | None = None
    started: float = field(default_factory=time.monotonic)

    def spent(self) -> bool:
        return self.seconds is not None and time.monotonic() - self.started >= self.seconds
