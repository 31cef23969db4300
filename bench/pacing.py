"""The peers' way of staying under the limit, as a ``RateLimiter``: a fixed interval between two calls.

It is the baseline for our limiter. The peer starts a call at most every ``seconds`` (0.65 s: a request
every 0.65 s, measured from the start of the previous one), as it really paces, not ``seconds`` on top of each
request's own latency (issue 21: that flattered the bucket). It still loses against the bucket because the
interval must leave a margin below the limit.
"""

from __future__ import annotations

import threading
import time


class FixedSleep:
    """Starts calls (per key) at least ``seconds`` apart: sleeps what is left of the interval since the last start."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> None:
        with self._lock:
            last = self._last.get(key)
            if last is not None:
                time.sleep(max(0.0, last + self.seconds - time.monotonic()))
            self._last[key] = time.monotonic()

    def __repr__(self) -> str:
        return f"FixedSleep(seconds={self.seconds})"
