"""Lexware's rate limit: one token bucket per organisation across all /v1 endpoints.

Refill 2 tokens/s and capacity 1 by default, on a monotonic clock: no burst at all, so two requests less than
half a second apart get a 429. That is the safe assumption about Lexware (a burst is not documented), and the
one a client must meet: a client that only works because the bucket forgives a burst would fail against the
real limit. ``burst`` raises the capacity for an organisation that should tolerate one. A refused request is
not executed.
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
    def per_second(cls, rate: float | None, burst: int = 1,
                   clock: Callable[[], float] = time.monotonic) -> "TokenBucket":
        """``rate`` tokens per second; the bucket holds ``burst`` tokens (1: requests at least 1/rate apart)."""
        return cls(rate=rate, capacity=float(max(1, burst)), clock=clock)

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
