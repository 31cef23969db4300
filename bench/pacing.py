"""The peers' way of staying under the limit, as a ``RateLimiter``: a fixed pause between two calls.

It is the baseline for our token bucket: a fixed pause must cover the request's own latency budget too, so
it wastes time on every call, while the bucket only waits as long as the limit demands.
"""

from __future__ import annotations

import threading
import time


class FixedSleep:
    """Sleeps ``seconds`` before every call but the first (per key), whatever time has already passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def acquire(self, key: str) -> None:
        with self._lock:
            first = key not in self._seen
            self._seen.add(key)
            if not first:
                time.sleep(self.seconds)

    def __repr__(self) -> str:
        return f"FixedSleep(seconds={self.seconds})"
