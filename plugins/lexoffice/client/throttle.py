"""Client-side throttling: at most 2 requests per second per Lexware organisation.

Lexware counts all requests of an organisation in one token bucket (2/s) and answers 429 beyond it. A 429
is safe but wastes a request and time, so the client waits *before* sending instead. ``TokenBucket`` does
that for the threads of one process; ``lexoffice.state.locks`` provides a ``RateLimiter`` shared by
processes (two DAGs delivering to one organisation). Both pace at ``SAFE_INTERVAL_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable


@runtime_checkable
class RateLimiter(Protocol):
    """Anything that can make the caller wait until one more request for ``key`` may be sent."""

    def acquire(self, key: str) -> None:
        """Block until one request for ``key`` may be sent, and count it as sent."""
        ...


_EPSILON = 1e-9  # float rounding after an exact sleep must not cost another round

#: Lexware's limit per organisation, all endpoints together.
LEXWARE_RATE_PER_SECOND = 2.0
#: How far apart our requests start. Lexware documents no burst, so two requests must *arrive* at least 0.5 s
#: apart; a request that leaves late (a busy machine, a slow network) arrives closer to the next one. 15 ms
#: (3 % of a slot) absorbs that jitter and keeps 97 % of the limit (issue 21 asks for at least 96 % with the
#: task's own start and the profile request counted; 20 ms left 95.96 %); jitter beyond it costs a 429, which
#: Lexware never executes and the client retries.
SAFE_INTERVAL_SECONDS = 1 / LEXWARE_RATE_PER_SECOND + 0.015


class _Bucket:
    def __init__(self, tokens: float, now: float) -> None:
        self.lock = threading.Lock()
        self.tokens = tokens
        self.updated = now


class TokenBucket:
    """An in-process, thread-safe token bucket per key.

    ``capacity`` 1 (the default) spaces requests evenly, ``1/rate`` apart (by default
    ``SAFE_INTERVAL_SECONDS``); a larger capacity allows short bursts, which Lexware may refuse. A waiting thread holds its
    key's lock while it sleeps, so waiters are served one after another and none can overtake the bucket.
    """

    def __init__(
        self,
        rate_per_second: float = 1 / SAFE_INTERVAL_SECONDS,
        capacity: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.rate = float(rate_per_second)
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, _Bucket] = {}
        self._buckets_lock = threading.Lock()

    def acquire(self, key: str) -> None:
        bucket = self._bucket(key)
        with bucket.lock:
            self._refill(bucket)
            while bucket.tokens < 1.0 - _EPSILON:  # a loop: never hand out a token the bucket lacks
                self._sleep((1.0 - bucket.tokens) / self.rate)
                self._refill(bucket)
            bucket.tokens -= 1.0

    def _bucket(self, key: str) -> _Bucket:
        with self._buckets_lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(self.capacity), self._clock())
            return bucket

    def _refill(self, bucket: _Bucket) -> None:
        now = self._clock()
        bucket.tokens = min(float(self.capacity), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now

    def __repr__(self) -> str:
        return f"TokenBucket(rate_per_second={self.rate}, capacity={self.capacity})"
