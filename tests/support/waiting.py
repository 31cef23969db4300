"""Waiting for events in tests that must hold on a loaded machine (CI with other work on two cores).

Tests wait for what they expect to happen and give up only after ``GENEROUS`` seconds: a deadline stops a hung
test, it never judges speed. Never assert that something took less than N seconds of wall-clock time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: Longest wait for an event that normally takes well under a second.
GENEROUS = 120.0


def wait_until(predicate: Callable[[], T], *, timeout: float = GENEROUS, interval: float = 0.02,
               what: str = "the condition") -> T:
    """Poll ``predicate`` until it returns something truthy; that value. AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(interval)
