"""RetryPolicy: how many attempts, how long between them, and what is raised when it gives up."""

from __future__ import annotations

import pytest

from lexoffice.client.errors import RateLimitedError, ServerError
from lexoffice.client.retry import RetryPolicy, RetryRequested


class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _failing(times: int, error: Exception, *, retry_after: float | None = None):
    calls: list[int] = []

    def attempt(number: int) -> str:
        calls.append(number)
        if len(calls) <= times:
            raise RetryRequested(error, retry_after=retry_after, reason="HTTP 503")
        return "ok"

    return attempt, calls


def test_succeeds_after_retryable_failures_with_growing_jittered_backoff() -> None:
    sleep = Recorder()
    policy = RetryPolicy(max_attempts=5, backoff_initial=0.1, backoff_max=10, jitter=0.05, sleep=sleep)
    attempt, calls = _failing(3, ServerError("x"))
    assert policy.run(attempt) == "ok"
    assert calls == [1, 2, 3, 4]
    assert len(sleep.waits) == 3
    for n, wait in enumerate(sleep.waits, start=1):
        base = 0.1 * 2 ** (n - 1)
        assert base <= wait <= base + 0.05


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(backoff_initial=1, backoff_max=2, jitter=0)
    assert policy.wait_seconds(10, None) == 2


def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    sleep = Recorder()
    last = ServerError("still broken", status=503)
    policy = RetryPolicy(max_attempts=3, backoff_initial=0.01, jitter=0, sleep=sleep)
    attempt, calls = _failing(10, last)
    with pytest.raises(ServerError) as info:
        policy.run(attempt)
    assert info.value is last
    assert calls == [1, 2, 3]
    assert len(sleep.waits) == 2


def test_retry_after_replaces_the_backoff_and_is_capped() -> None:
    sleep = Recorder()
    policy = RetryPolicy(max_attempts=3, backoff_initial=0.01, retry_after_max=4, sleep=sleep)
    attempt, _ = _failing(2, RateLimitedError("429"), retry_after=3)
    policy.run(attempt)
    assert sleep.waits == [3, 3]
    attempt, _ = _failing(1, RateLimitedError("429"), retry_after=120)
    sleep.waits.clear()
    RetryPolicy(max_total_seconds=600, retry_after_max=4, sleep=sleep).run(attempt)
    assert sleep.waits == [4]


def test_total_time_is_bounded_before_sleeping() -> None:
    """A wait that would cross max_total_seconds is not taken: the error comes at once."""
    sleep = Recorder()
    policy = RetryPolicy(max_attempts=10, max_total_seconds=5, retry_after_max=30, sleep=sleep)
    attempt, calls = _failing(10, RateLimitedError("429"), retry_after=6)
    with pytest.raises(RateLimitedError):
        policy.run(attempt)
    assert calls == [1]
    assert sleep.waits == []


def test_other_exceptions_pass_through_at_once() -> None:
    sleep = Recorder()
    calls: list[int] = []

    def attempt(number: int) -> None:
        calls.append(number)
        raise ValueError("not an HTTP problem")

    with pytest.raises(ValueError):
        RetryPolicy(sleep=sleep).run(attempt)
    assert calls == [1] and sleep.waits == []


def test_on_retry_hears_each_wait() -> None:
    heard: list[tuple[int, str, float]] = []
    policy = RetryPolicy(max_attempts=3, backoff_initial=0.01, jitter=0, sleep=lambda s: None)
    attempt, _ = _failing(2, ServerError("x"))
    policy.run(attempt, on_retry=lambda n, failure, wait: heard.append((n, failure.reason, wait)))
    assert heard == [(1, "HTTP 503", 0.01), (2, "HTTP 503", 0.02)]


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"max_total_seconds": 0}])
def test_nonsense_policies_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)
