"""Lexware's rate limit: one token bucket per organisation across all /v1 endpoints.

Capacity 2 and refill 2 tokens/s by default, on a monotonic clock, so a client pacing at 2.0 requests/s with
ordinary jitter never sees a 429 while a burst of three does. A refused request is not executed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Float arithmetic on elapsed time must not turn "exactly one token" into 0.9999999.
_EPSILON = 1e-9


@dataclass
class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` stored; ``rate`` None means unlimited."""

    rate: float | None
    capacity: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity
        self.updated = self.clock()

    @classmethod
    def per_second(cls, rate: float | None, clock: Callable[[], float] = time.monotonic) -> "TokenBucket":
        """Lexware's shape: the bucket holds one second's worth of tokens (2 at 2/s), never less than one."""
        return cls(rate=rate, capacity=max(1.0, rate or 1.0), clock=clock)

    def try_take(self) -> bool:
        """Take one token if there is one; False means answer 429 and do not execute the call."""
        if self.rate is None:
            return True
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0 - _EPSILON:
            self.tokens -= 1.0
            return True
        return False
