"""TokenBucket with a fake clock (exact arithmetic) and with real threads (real time, short)."""

from __future__ import annotations

import threading
import time

import pytest

from lexoffice.client import RateLimiter, TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_is_a_rate_limiter() -> None:
    assert isinstance(TokenBucket(), RateLimiter)


def test_default_spaces_requests_a_little_more_than_half_a_second_apart() -> None:
    """Lexware allows 2/s with no burst: 0.515 s apart leaves 15 ms for jitter and keeps 97 % of the limit."""
    t = FakeTime()
    bucket = TokenBucket(clock=t.clock, sleep=t.sleep)
    sent = []
    for _ in range(5):
        bucket.acquire("org")
        sent.append(t.now)
    assert [b - a for a, b in zip(sent, sent[1:])] == pytest.approx([0.515] * 4)
    assert t.now - 1000.0 == pytest.approx(4 * 0.515)


def test_idle_time_refills_but_never_beyond_capacity() -> None:
    t = FakeTime()
    bucket = TokenBucket(rate_per_second=2, capacity=2, clock=t.clock, sleep=t.sleep)
    bucket.acquire("org")
    bucket.acquire("org")
    assert t.sleeps == []  # a burst of two
    t.now += 60  # a long pause refills two tokens, not 120
    for _ in range(3):
        bucket.acquire("org")
    assert t.sleeps == pytest.approx([0.5])


def test_keys_are_independent() -> None:
    t = FakeTime()
    bucket = TokenBucket(clock=t.clock, sleep=t.sleep)
    bucket.acquire("org-a")
    bucket.acquire("org-b")
    assert t.sleeps == []
    bucket.acquire("org-a")
    assert t.sleeps == pytest.approx([0.515])


@pytest.mark.parametrize("kwargs", [{"rate_per_second": 0}, {"capacity": 0}])
def test_invalid_settings(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        TokenBucket(**kwargs)


def test_threads_sharing_a_key_are_spaced_in_real_time() -> None:
    bucket = TokenBucket(rate_per_second=25)  # 40 ms apart: quick, still measurable
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(4):
            bucket.acquire("org")
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    stamps.sort()
    assert len(stamps) == 16
    # 16 tokens from a bucket holding one, refilled every 40 ms: at least 15 refills must have passed.
    # (Single gaps are not checked: a thread can be descheduled between acquire() and its timestamp.)
    assert stamps[-1] - stamps[0] >= 15 * 0.04 - 0.01
