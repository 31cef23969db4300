"""Progress lines for long deliveries: done/total, rate and time left."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pendulum


@dataclass
class Progress:
    """Logs ``done/total``, documents per second and an estimate of the time left, at most every ``every`` s."""

    label: str
    total: int
    logger: logging.Logger
    every: float = 10.0
    done: int = 0
    _started: float = field(default_factory=time.monotonic)
    _last_log: float = 0.0

    def step(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.done >= self.total or now - self._last_log >= self.every:
            self._last_log = now
            self.logger.info("%s", self.line(now))

    def line(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self._started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = "?" if left == float("inf") else f"{int(left // 60)}m{int(left % 60):02d}s"
        return f"{self.label}: {self.done}/{self.total} done, {rate:.2f} docs/s, about {eta} left"


def log_sent(logger: logging.Logger, row: Any, lexware_id: str, sent_at: datetime) -> None:
    """One task-log line per document that reached Lexware Office: what, its Lexware id, and "Datum senden"."""
    local = pendulum.instance(sent_at).in_timezone("Europe/Berlin").strftime("%d.%m.%Y %H:%M:%S")
    logger.info("gesendet / sent: %s -> Lexware-ID %s, Datum senden %s", row.source_ref or row.doc_key, lexware_id,
                local)
