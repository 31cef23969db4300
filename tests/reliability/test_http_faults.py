"""The fault matrix over HTTP: each fault injected by the sandbox during a real DAG run, then reruns until the
outbox is settled (at most 3 runs), then the promise checked against what the sandbox holds.

Which faults and why: 429 is never executed (safe to repeat, even for a POST); a 5xx on a GET is retried; a
5xx on a POST may or may not have been executed, and a 504, a dropped connection or an answer slower than the
client's timeout come *after* the sandbox committed: those must be reconciled, never re-sent blindly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.reliability.audit import audit, fault_note
from tests.reliability.scenarios import batch_for
from tests.reliability.world import ReliabilityWorld

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

ANY: dict[str, Any] = {"method": None, "path": None}
INVOICES, CONTACTS = "/v1/invoices", "/v1/contacts"
TRANSACTIONS, ACCOUNTS = "/v1/finance/transactions", "/v1/finance/financial-accounts"


# What a case must show besides "exactly once, nothing lost", so that it cannot pass without meeting its fault:
ABSORBED = "absorbed by retries in one run"
BLOCKED = "first run blocked, nothing executed"
RECONCILED_SENT = "outcome unknown, reconciled as sent"
RECONCILED_PENDING = "outcome unknown, reconciled as not sent, sent later"
NEXT_RUN = "document waited for the next run"


@dataclass(frozen=True)
class FaultCase:
    name: str
    stream: str
    faults: tuple[dict[str, Any], ...]
    expect: str
    client_timeout: float | None = None  # read timeout of the tenant's connection (extra "timeout")
    contact_read_lag: float | None = None
    grace: float | None = None  # the connection's confirm_grace_seconds, when the case needs more than the world's


def before(status: int, method: str | None, path: str | None, count: int = 1, **extra: Any) -> dict[str, Any]:
    return {"mode": "before", "status": status, "method": method, "path": path, "count": count, **extra}


def after_commit(mode: str, path: str, **extra: Any) -> dict[str, Any]:
    return {"mode": mode, "method": "POST", "path": path, "count": 1, **extra}


# A storm: the first request exhausts its retries (the run stops, nothing executed), the next run absorbs the rest;
# POSTs meet 429s without Retry-After, as Lexware sends them.
STORM = (before(429, "POST", None, count=2), before(429, None, None, count=7, retry_after=0.2))
SLOW = {"delay_seconds": 2.5}
GATEWAY_TIMEOUT = {"status": 504}

CASES = [
    FaultCase("429 storm, any request (invoices)", "invoices", STORM, BLOCKED),
    FaultCase("429 storm, any request (transactions)", "transactions", STORM, BLOCKED),
    FaultCase("500 before, GET (invoices)", "invoices", (before(500, "GET", None, count=2),), ABSORBED),
    FaultCase("503 before, GET (transactions)", "transactions", (before(503, "GET", None, count=3),), ABSORBED),
    FaultCase("500 before, POST contacts", "invoices", (before(500, "POST", CONTACTS),), NEXT_RUN),
    FaultCase("503 before, POST invoices", "invoices", (before(503, "POST", INVOICES, count=2),), RECONCILED_PENDING),
    FaultCase("500 before, POST financial-accounts", "transactions", (before(500, "POST", ACCOUNTS),), NEXT_RUN),
    FaultCase("503 before, POST finance/transactions", "transactions", (before(503, "POST", TRANSACTIONS),),
              RECONCILED_PENDING),
    FaultCase("504 after commit, POST invoices", "invoices",
              (after_commit("after_commit", INVOICES, **GATEWAY_TIMEOUT),), RECONCILED_SENT),
    FaultCase("504 after commit, POST contacts", "invoices",
              (after_commit("after_commit", CONTACTS, **GATEWAY_TIMEOUT),), NEXT_RUN),
    FaultCase("504 after commit, POST finance/transactions", "transactions",
              (after_commit("after_commit", TRANSACTIONS, **GATEWAY_TIMEOUT),), RECONCILED_SENT),
    FaultCase("504 after commit, POST financial-accounts", "transactions",
              (after_commit("after_commit", ACCOUNTS, **GATEWAY_TIMEOUT),), NEXT_RUN),
    FaultCase("connection dropped after commit, POST invoices", "invoices",
              (after_commit("drop_after_commit", INVOICES),), RECONCILED_SENT),
    FaultCase("connection dropped after commit, POST finance/transactions", "transactions",
              (after_commit("drop_after_commit", TRANSACTIONS),), RECONCILED_SENT),
    FaultCase("answer slower than client timeout, POST invoices", "invoices",
              (after_commit("slow_after_commit", INVOICES, **SLOW),), RECONCILED_SENT, client_timeout=1.0),
    FaultCase("answer slower than client timeout, POST finance/transactions", "transactions",
              (after_commit("slow_after_commit", TRANSACTIONS, **SLOW),), RECONCILED_SENT, client_timeout=1.0),
    FaultCase("read-after-write lag of a new contact", "invoices", (), ABSORBED, contact_read_lag=2.0),
]

# Lexware commits LATE_COMMIT seconds after the failure was answered: a lookup right after the failure finds
# nothing, so only the grace period (longer than the delay) keeps the document from being sent twice.
LATE_COMMIT = {"delay_seconds": 3.0}
LATE_GRACE = 8.0
LATE = [
    FaultCase("created 3 s after a 504, POST invoices", "invoices",
              (after_commit("late_after_error", INVOICES, status=504, **LATE_COMMIT),), RECONCILED_SENT,
              grace=LATE_GRACE),
    FaultCase("created 3 s after a dropped connection, POST invoices", "invoices",
              (after_commit("late_after_drop", INVOICES, **LATE_COMMIT),), RECONCILED_SENT, grace=LATE_GRACE),
    FaultCase("created 3 s after the client's timeout, POST invoices", "invoices",
              (after_commit("late_after_timeout", INVOICES, delay_seconds=4.0),), RECONCILED_SENT,
              client_timeout=1.0, grace=LATE_GRACE),
    FaultCase("created 3 s after a 504, POST contacts", "invoices",
              (after_commit("late_after_error", CONTACTS, status=504, **LATE_COMMIT),), NEXT_RUN, grace=LATE_GRACE),
    FaultCase("created 3 s after a 504, POST finance/transactions", "transactions",
              (after_commit("late_after_error", TRANSACTIONS, status=504, **LATE_COMMIT),), RECONCILED_SENT,
              grace=LATE_GRACE),
    FaultCase("created 3 s after a dropped connection, POST finance/transactions", "transactions",
              (after_commit("late_after_drop", TRANSACTIONS, **LATE_COMMIT),), RECONCILED_SENT, grace=LATE_GRACE),
    FaultCase("created 3 s after the client's timeout, POST finance/transactions", "transactions",
              (after_commit("late_after_timeout", TRANSACTIONS, delay_seconds=4.0),), RECONCILED_SENT,
              client_timeout=1.0, grace=LATE_GRACE),
    FaultCase("created 3 s after a 504, POST financial-accounts", "transactions",
              (after_commit("late_after_error", ACCOUNTS, status=504, **LATE_COMMIT),), NEXT_RUN, grace=LATE_GRACE),
]
CASES += LATE


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_is_survived_exactly_once(world: ReliabilityWorld, case: FaultCase) -> None:
    tenant = "flt"
    if case.grace is not None:
        world.confirm_grace_seconds = case.grace
    batch = batch_for(world, tenant, case.stream)
    if case.client_timeout is not None:
        world.set_client_timeout(tenant, case.client_timeout)
    if case.contact_read_lag is not None:
        world.sandbox.admin("POST", "/contact-read-lag", json={"seconds": case.contact_read_lag})
    for fault in case.faults:
        world.inject(**fault)

    runs = world.run_until_settled(batch.dag_id, tenant, batch.stream, **batch.run_kwargs())

    outcome = audit(world, tenant, batch.stream, case=case.name, valid=batch.valid, invalid=batch.invalid)
    assert world.sandbox.admin("GET", "/faults") == [], "faults left over: the case ended before meeting them all"
    hits = world.fault_hits(tenant)
    assert hits or case.faults == (), "the fault never hit a request: the case proves nothing"
    outcome.notes += [fault_note(hits) if hits else "", _evidence(world, tenant, batch.stream, case, runs),
                      f"runs: {', '.join(runs)}"]
    outcome.notes = [n for n in outcome.notes if n]
    outcome.check(expected_reasons=batch.invalid.values())


def _evidence(world: ReliabilityWorld, tenant: str, stream: str, case: FaultCase, runs: list[str]) -> str:
    """Assert that the case took the path it names (see the constants above); return it for the table."""
    totals = world.delivery_totals(tenant, stream)
    if case.expect != BLOCKED:  # the protocol handles these faults: no run may fail (retries are off)
        assert set(runs) == {"success"}, runs
    if case.expect == ABSORBED:
        assert runs == ["success"], runs
        if case.contact_read_lag is not None:
            refused = [r for r in world.requests_log(tenant) if r["path"] == INVOICES and r["status"] == 406]
            assert refused, "the invoice never met the contact's read lag: the case proves nothing"
            return f"invoice POST refused {len(refused)}x while the new contact was invisible, then accepted"
        return ABSORBED
    if case.expect == BLOCKED:
        blocked = [message for status, message in world.run_messages(tenant, stream) if status == "blocked"]
        assert runs[0] == "failed" and blocked, (runs, blocked)
        assert "too many requests" in blocked[-1], blocked
        return BLOCKED
    if case.expect == RECONCILED_SENT:
        assert totals.get("reconciled_sent", 0) >= 1, totals
        return f"{RECONCILED_SENT} ({totals['reconciled_sent']})"
    if case.expect == RECONCILED_PENDING:
        assert totals.get("reconciled_pending", 0) >= 1, totals
        return f"{RECONCILED_PENDING} ({totals['reconciled_pending']})"
    assert case.expect == NEXT_RUN and len(runs) >= 2, runs
    return NEXT_RUN
