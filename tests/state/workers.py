"""Functions that run in separate processes: each builds its own engine, as a separate worker would.

They report through a queue; a shared barrier lines them up so they really contend. The processes are
forked (Linux): a spawned child spends seconds re-importing SQLAlchemy and pytest before it can contend,
and a forked child never touches the parent's pooled connections, it only opens its own.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

CONTEXT = multiprocessing.get_context("fork")


def claim_all(url: str, row_ids: list[int], barrier: Any, results: Any) -> None:
    from lexoffice.state import make_engine, outbox

    engine = make_engine(url)
    barrier.wait(timeout=60)
    won = [rid for rid in row_ids if outbox.claim(engine, rid, run_id="proc")]
    results.put(won)
    engine.dispose()


def hold_refresh_lock(url: str, key: str, rounds: int, hold_seconds: float, barrier: Any, results: Any) -> None:
    from lexoffice.state import make_engine
    from lexoffice.state.tokens import DbTokenStore

    engine = make_engine(url)
    store = DbTokenStore(engine, encryption_key="worker-key")
    barrier.wait(timeout=60)
    intervals = []
    for _ in range(rounds):
        with store.refresh_lock(key):
            entered = time.time()
            time.sleep(hold_seconds)
            intervals.append((entered, time.time()))
    results.put(intervals)
    engine.dispose()


def hold_refresh_lock_until_killed(url: str, key: str, lock_ttl: float, ready: Any) -> None:
    """Enter the refresh lock, say so, then hang until killed (a worker that dies mid-refresh)."""
    from lexoffice.state import make_engine
    from lexoffice.state.tokens import DbTokenStore

    store = DbTokenStore(make_engine(url), encryption_key="worker-key", refresh_lock_ttl=lock_ttl)
    with store.refresh_lock(key):
        ready.set()
        time.sleep(600)


def hold_lease(url: str, org_key: str, rounds: int, hold_seconds: float, barrier: Any, results: Any) -> None:
    from lexoffice.state import make_engine
    from lexoffice.state.locks import OrganisationLease

    engine = make_engine(url)
    barrier.wait(timeout=60)
    intervals = []
    for i in range(rounds):
        lease = OrganisationLease(engine, org_key=org_key, holder=f"worker round {i}", ttl_seconds=30,
                                  poll_seconds=0.01)
        assert lease.acquire(wait_seconds=30)
        entered = time.time()
        time.sleep(hold_seconds)
        left = time.time()
        lease.release()
        intervals.append((entered, left))
    results.put(intervals)
    engine.dispose()


def take_lease_and_wait(url: str, org_key: str, ttl_seconds: float, ready: Any) -> None:
    """Take the lease, say so, then hang until killed (a sender that dies without releasing)."""
    from lexoffice.state import make_engine
    from lexoffice.state.locks import OrganisationLease

    engine = make_engine(url)
    lease = OrganisationLease(engine, org_key=org_key, holder="doomed sender", ttl_seconds=ttl_seconds)
    assert lease.acquire()
    ready.set()
    time.sleep(600)


def record_slots(limiter: Any) -> list[float]:
    """Wrap ``limiter.reserve_slot`` so every slot it reserves is appended to the returned list: the slots are
    the limiter's own decisions, judged without the scheduling noise of a loaded machine."""
    slots: list[float] = []
    reserve_slot = limiter.reserve_slot

    def recording(key: str) -> Any:
        slot = reserve_slot(key)
        slots.append(slot.at)
        return slot

    limiter.reserve_slot = recording
    return slots


def acquire_slots(url: str, key: str, rounds: int, rate: float, barrier: Any, results: Any) -> None:
    """Acquire ``rounds`` slots; report each slot the limiter reserved and when ``acquire`` let us go."""
    from lexoffice.state import make_engine
    from lexoffice.state.locks import DbRateLimiter

    engine = make_engine(url)
    limiter = DbRateLimiter(engine, interval_seconds=1 / rate)
    slots = record_slots(limiter)
    barrier.wait(timeout=60)
    released = []
    for _ in range(rounds):
        limiter.acquire(key)
        released.append(time.time())
    results.put((slots, released))
    engine.dispose()


def profile_calls(url: str, base_url: str, api_key: str, rate_key: str, rounds: int, barrier: Any,
                  results: Any) -> None:
    """Send GET /v1/profile through the real client, throttled by the shared DbRateLimiter."""
    from lexoffice.client import ApiKeyAuth, LexofficeClient
    from lexoffice.client.throttle import SAFE_INTERVAL_SECONDS
    from lexoffice.state import make_engine
    from lexoffice.state.locks import DbRateLimiter

    engine = make_engine(url)
    limiter = DbRateLimiter(engine, interval_seconds=SAFE_INTERVAL_SECONDS)
    slots = record_slots(limiter)
    client = LexofficeClient(base_url, ApiKeyAuth(api_key), rate_limiter=limiter, rate_key=rate_key)
    barrier.wait(timeout=60)
    names = [client.get_profile().get("companyName") for _ in range(rounds)]
    client.close()
    results.put((names, slots))
    engine.dispose()


def run_all(target: Any, args_per_process: list[tuple[Any, ...]], timeout: float = 90) -> list[Any]:
    """Start one process per args tuple (each gets the shared barrier and queue appended); collect results."""
    barrier = CONTEXT.Barrier(len(args_per_process))
    results = CONTEXT.Queue()
    procs = [CONTEXT.Process(target=target, args=(*args, barrier, results)) for args in args_per_process]
    for p in procs:
        p.start()
    try:
        collected = [results.get(timeout=timeout) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    return collected
