"""export-since moved forward after staging: nothing dated before it is sent, by a nightly run or a manual
selection of ids, for both streams; each stopped document carries BEFORE_EXPORT_SINCE. Checked against what the
sandbox holds (measured before the fix: a staged transaction and a draft selected by id were sent)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.reliability.audit import Outcome
from tests.reliability.scenarios import batch_for
from tests.reliability.world import ReliabilityWorld

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

KIND = {"invoices": "invoices", "transactions": "transactions"}


@pytest.mark.parametrize("stream", ["invoices", "transactions"])
@pytest.mark.parametrize("how", ["nightly", "selected by id"])
def test_export_since_moved_forward_after_staging_stops_delivery(world: ReliabilityWorld, stream: str,
                                                                 how: str) -> None:
    from lexoffice.state import tenants

    tenant = "late"
    batch = batch_for(world, tenant, stream)  # documents dated 2026-10-05; export_since 2026-10-01
    world.disconnect(tenant)  # staged, not sent
    world.run_dag(batch.dag_id, logical_date=batch.logical_date)
    staged = world.states(tenant, stream)
    assert sum(s == "pending" for s in staged.values()) == len(batch.valid), staged

    tenants.set_export_since(world.state, tenant, date(2026, 10, 6))  # moved forward past the documents
    world.connect(tenant)
    if how == "nightly":
        world.run_dag(batch.dag_id, logical_date=batch.logical_date)
    else:
        world.run_dag(batch.dag_id, conf={"tenant": tenant, "document_ids": list(batch.valid)})

    assert world.lexware(tenant, KIND[stream]) == [], "a document dated before export_since reached Lexware"
    rows = {r.doc_key: r for r in world.outbox(tenant, stream)}
    prefix = "draft:" if stream == "invoices" else "txn:"
    for source_id in batch.valid:
        row = rows[prefix + source_id]
        assert str(row.state) == "invalid", (source_id, row.state)
        codes = {r["code"] for r in row.reasons}
        assert codes & {"BEFORE_EXPORT_SINCE", "TXN_BEFORE_EXPORT_SINCE"}, (source_id, row.reasons)
    Outcome(f"export-since moved forward after staging ({stream}, {how})", documents=len(batch.valid),
            reasons={c for r in rows.values() for c in (x["code"] for x in r.reasons)},
            notes=["0 sent: every document is dated before the new export_since"]).check()
