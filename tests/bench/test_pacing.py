"""The fixed-interval peer paces like the peer does: one call every 0.65 s from start to start, so time spent in
the request itself counts towards the interval (before: it slept the full interval after every request)."""

from __future__ import annotations

import pytest

from bench import pacing


class VirtualTime:
    """A clock that only moves when someone sleeps: the test needs no real waiting and no timing slack."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_request_time_counts_towards_the_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = VirtualTime()
    monkeypatch.setattr(pacing, "time", clock)
    pacer = pacing.FixedSleep(0.65)
    starts = []
    for request_seconds in (0.2, 0.9, 0.1, 0.3):
        pacer.acquire("org")
        starts.append(clock.now)
        clock.sleep(request_seconds)  # the request itself
    assert starts == pytest.approx([0.0, 0.65, 1.55, 2.2])  # 0.65 apart, or later when a request took longer
    pacer.acquire("other org")  # each organisation has its own interval
    assert clock.now == pytest.approx(2.5)
