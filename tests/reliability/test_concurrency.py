"""Two runs of the same DAG and a backfill, overlapping in time on one tenant, each in its own process.

Airflow allows this (``max_active_runs`` does not cover backfills, cleared tasks or a second scheduler), so
the outbox must: the organisation lease lets one sender deliver at a time, the conditional claim lets a row be
sent by one of them only, and staging the same window twice changes nothing.
"""

from __future__ import annotations

import json

import pytest

from tests.reliability.audit import audit
from tests.reliability.processes import finish, go_when_ready, start_delivery
from tests.reliability.world import ReliabilityWorld
from tests.support import sources as src

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

NIGHT, EARLIER = "2026-10-05", "2026-10-04"
OWN_IBAN = "DE02120300000000202051"


def _source(world: ReliabilityWorld, tenant: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Per stream: two documents on EARLIER (only the backfill reads them), three on NIGHT, one invalid."""
    days = {"e1": EARLIER, "e2": EARLIER, "n1": NIGHT, "n2": NIGHT, "n3": NIGHT}
    fs, bank = world.engine(world.fieldservice_url), world.engine(world.bank_url)
    src.company(fs, "c1")
    src.customer(fs, "k1", "c1")
    src.customer(fs, "k2", "c1", name="Hotel Rheinblick GmbH & Co. KG")
    for i, (key, day) in enumerate(days.items()):
        src.draft(fs, f"d-{key}", "c1", "k1" if i % 2 else "k2", created=day)
    src.draft(fs, "d-bad", "c1", "k1", created=NIGHT, currency="USD")
    src.bank_customer(bank, "c1")
    src.account(bank, "a1", "c1", OWN_IBAN)
    for i, (key, day) in enumerate(days.items(), start=1):
        src.transaction(bank, f"t-{key}", "a1", amount=-1.5 * i, booked=day, completed=day)
    src.transaction(bank, "t-bad", "a1", completed=NIGHT, counterparty_iban="DE00123456780000000000")
    world.add_tenant(tenant, company_id="c1", streams=("invoices", "transactions"))
    return {"invoices": ([f"d-{k}" for k in days], {"d-bad": "CURRENCY_NOT_EUR"}),
            "transactions": ([f"t-{k}" for k in days], {"t-bad": "TXN_COUNTERPARTY_IBAN_INVALID"})}


def test_two_runs_and_a_backfill_at_once_send_everything_once(world: ReliabilityWorld) -> None:
    tenant = "busy"
    expected = _source(world, tenant)
    go_file = world.tmp / "go"
    common = ["--state-url", world.state_url, "--tenant", tenant, "--stream", "invoices", "--stream", "transactions",
              "--source-url", world.fieldservice_url, "--source-url", world.bank_url, "--go-file", str(go_file)]
    runs = {"scheduled__night": NIGHT, "manual__same_night": NIGHT, "backfill__earlier": EARLIER}
    ready = {run_id: world.tmp / f"ready-{run_id}" for run_id in runs}
    children = [start_delivery(*common, "--from", day, "--to", day, "--run-id", run_id,
                               "--ready-file", str(ready[run_id])) for run_id, day in runs.items()]
    go_when_ready(list(ready.values()), go_file)
    reports = [json.loads(out.strip().splitlines()[-1]) for out in finish(children, timeout=150)]

    assert max(r["started"] for r in reports) < min(r["finished"] for r in reports), "the runs did not overlap"
    for position, stream in enumerate(("invoices", "transactions")):
        valid, invalid = expected[stream]
        sent_by_each = [r["results"][position]["sent"] for r in reports]
        assert sum(sent_by_each) == len(valid), sent_by_each  # each document sent by exactly one of them
        outcome = audit(world, tenant, stream, case=f"2 runs + 1 backfill at once, 3 processes ({stream})",
                        valid=valid, invalid=invalid)
        outcome.notes.append(f"sent per process: {sent_by_each}")
        outcome.check(expected_reasons=invalid.values())
