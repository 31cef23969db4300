"""The throttle against the sandbox's real 2 requests/s bucket: sustained load without a single 429.

These tests take real time (about 15 s together): a rate limit can only be shown at its rate.
"""

from __future__ import annotations

import threading

import pytest

from lexoffice.client import RetryPolicy, TokenBucket
from lexoffice.client.errors import RateLimitedError
from tests.client.sandbox_helpers import api_key_client, create_org, org_stats, request_log

NO_RETRY = RetryPolicy(max_attempts=1)


@pytest.fixture
def org(sandbox):
    # Lexware's documented limit, with the burst of 2 the arrival check below allows: these tests judge the
    # in-process bucket's pacing, not a loaded machine's jitter against the no-burst default (that is
    # tests/state/test_rate_limit_sandbox.py's and the delivery benchmark's).
    return create_org(sandbox, rate_limit_per_second=2.0, rate_limit_burst=2)


def _assert_at_most_two_per_second(times: list[float], *, jitter: float = 0.05) -> None:
    """Server receive times fit Lexware's bucket (2/s, burst 2): any run of k requests spans >= (k-2)/2 s.

    The client spaces its sends 0.5 s apart, but arrivals jitter (a request delayed on a loaded machine
    arrives close to the next one); the burst of 2 is what the real limit tolerates, so it is allowed here.
    """
    times = sorted(times)
    for i in range(len(times)):
        for j in range(i + 2, len(times)):
            count = j - i + 1
            assert count <= 2 + 2.0 * (times[j] - times[i] + jitter), (count, times[j] - times[i], times)


def test_without_a_throttle_a_burst_is_rate_limited(sandbox, org) -> None:
    """The control: the sandbox does enforce the limit, so the tests below can fail."""
    with api_key_client(sandbox, org, retry=NO_RETRY) as client:
        with pytest.raises(RateLimitedError):
            for _ in range(6):
                client.get_profile()
    assert org_stats(sandbox, org)["rate_limited"] >= 1


@pytest.mark.slow
def test_sustained_load_through_the_token_bucket_gets_no_429(sandbox, org) -> None:
    with api_key_client(sandbox, org, retry=NO_RETRY, rate_limiter=TokenBucket()) as client:
        for _ in range(20):
            client.get_profile()
    stats = org_stats(sandbox, org)
    assert stats["rate_limited"] == 0
    log = request_log(sandbox, org, "/v1/profile")
    assert len(log) == 20 and {e["status"] for e in log} == {200}
    _assert_at_most_two_per_second([e["t"] for e in log])


@pytest.mark.slow
def test_threads_sharing_one_key_stay_at_two_per_second(sandbox, org) -> None:
    bucket = TokenBucket()
    clients = [
        api_key_client(sandbox, org, retry=NO_RETRY, rate_limiter=bucket, rate_key=org["organization_id"])
        for _ in range(4)
    ]
    errors: list[BaseException] = []

    def work(client) -> None:
        try:
            for _ in range(3):
                client.get_profile()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for c in clients:
        c.close()
    assert errors == []
    assert org_stats(sandbox, org)["rate_limited"] == 0
    log = request_log(sandbox, org, "/v1/profile")
    assert len(log) == 12
    _assert_at_most_two_per_second([e["t"] for e in log])
