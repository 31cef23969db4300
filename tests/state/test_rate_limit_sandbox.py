"""Two processes, one Lexware organisation: the shared DbRateLimiter keeps both under Lexware's limit.

Real parts only: the sandbox over HTTP on 127.0.0.1 (its token bucket answers 429 like Lexware), the real
client, a real PostgreSQL server, and two OS processes.

Two things are checked: the sandbox's own bucket never refused a request (what a user depends on), and the
limiter's slots, its own decisions, never put more than 2 requests in any 1-second window. Arrival times at the
server are not judged: on a loaded machine a process can start a request late, which moves arrivals closer
together without the limiter having promised anything else (a real 429 would still be caught above).
"""

from __future__ import annotations

import bisect
import contextlib
import os

import pytest

from lexoffice.client import ApiKeyAuth, LexofficeClient, RetryPolicy
from lexoffice.client.throttle import SAFE_INTERVAL_SECONDS
from lexoffice.state import make_engine
from lexoffice.state.db import init_db
from lexoffice.state.locks import DbRateLimiter
from tests.state import workers
from tests.support.sandbox_server import SandboxServer


def _max_in_any_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    return max(bisect.bisect_left(ordered, t + window) - i for i, t in enumerate(ordered))


@pytest.mark.postgres
def test_two_processes_never_exceed_two_requests_per_second(sandbox: SandboxServer, postgres_url: str) -> None:
    # Two senders interleave on one schedule: a process that wakes late for its slot lands closer to the other's
    # next slot than the interval, and on a loaded machine that is more than the 15 ms margin now and then. The
    # limiter's own promise (its slots, below) is what this test checks, so the organisation gets the burst of 2
    # that some sources claim Lexware has; the no-burst claim is the single sender's test below and the benchmark.
    org = sandbox.admin("POST", "/organizations", json={"company_name": "Takt & Söhne GmbH", "rate_limit_burst": 2})
    engine = make_engine(postgres_url)
    init_db(engine)
    engine.dispose()
    args = (postgres_url, sandbox.base_url, org["api_key"], org["organization_id"], 10)

    results = workers.run_all(workers.profile_calls, [args, args], timeout=120)

    assert [names for names, _ in results] == [["Takt & Söhne GmbH"] * 10] * 2
    log = sandbox.admin("GET", f"/organizations/{org['organization_id']}/requests")
    assert [r["status"] for r in log] == [200] * 20  # every request executed, none refused with 429
    slots = sorted(slot for _, process_slots in results for slot in process_slots)
    assert len(slots) == 20
    assert _max_in_any_window(slots, 1.0) <= 2, slots
    assert min(b - a for a, b in zip(slots, slots[1:])) >= 0.5, slots  # one shared schedule, not one per process


@pytest.mark.postgres
def test_the_dags_limiter_gets_no_429_from_a_bucket_without_burst(postgres_url: str) -> None:
    """The limiter ``connections.client_factory`` gives the DAGs, one sender, 30 requests against the sandbox's
    default bucket (2/s, capacity 1: no burst) with a simulated network round trip of 150 ms: every request
    is executed, none answered 429 (the client here does not retry, so a 429 would fail the test).

    The margin (15 ms) is for the jitter of a network and a sender with a core to itself; on a machine whose
    run queue is many processes long, any process waits tens of milliseconds now and then, which the benchmark
    reports (docs/benchmarks.md). So that this test checks the limiter and not the machine's load, the sandbox
    (a sandbox of its own) and this sender run at a higher scheduling priority where permitted. A limiter
    without a margin still fails here: with no burst, any jitter at exactly 0.5 s apart is a 429."""
    sandbox = SandboxServer.start()
    niceness = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        with contextlib.suppress(PermissionError):
            os.setpriority(os.PRIO_PROCESS, sandbox.process.pid, -10)
            os.setpriority(os.PRIO_PROCESS, 0, -10)
        org = sandbox.admin("POST", "/organizations", json={"company_name": "Ohne Burst GmbH",
                                                             "round_trip_seconds": 0.15})
        (settings,) = [o for o in sandbox.admin("GET", "/organizations")
                       if o["organization_id"] == org["organization_id"]]
        assert (settings["rate_limit_burst"], settings["rate_limit_per_second"]) == (1, 2.0)  # the defaults
        engine = make_engine(postgres_url)
        init_db(engine)
        limiter = DbRateLimiter(engine, interval_seconds=SAFE_INTERVAL_SECONDS)
        with LexofficeClient(sandbox.base_url, ApiKeyAuth(org["api_key"]), rate_limiter=limiter,
                             rate_key=f"no-burst-{org['organization_id']}", retry=RetryPolicy(max_attempts=1),
                             allow_insecure_http=True) as client:
            for _ in range(30):
                client.get_profile()
        engine.dispose()
        log = sandbox.admin("GET", f"/organizations/{org['organization_id']}/requests")
        assert [r["status"] for r in log] == [200] * 30
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
        sandbox.stop()
