"""Run records for the report: one per (run, tenant, stream), overwritten by a retried task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from lexoffice.state.runs import RunRecord, list_runs, record_run

T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


def test_record_and_list_newest_first(engine: sa.Engine) -> None:
    record_run(engine, run_id="scheduled__1", tenant_id="acme", stream="invoices", started_at=T0,
               finished_at=T0 + timedelta(minutes=3), status="success", counts={"sent": 12, "invalid": 1},
               message="12 sent, 1 invalid")
    record_run(engine, run_id="scheduled__2", tenant_id="acme", stream="invoices", started_at=T0 + timedelta(days=1),
               finished_at=None, status="running", counts={})
    record_run(engine, run_id="scheduled__2", tenant_id="acme", stream="transactions",
               started_at=T0 + timedelta(days=1), finished_at=None, status="running", counts={})
    record_run(engine, run_id="scheduled__2", tenant_id="other", stream="invoices",
               started_at=T0 + timedelta(days=2), finished_at=None, status="failed", counts={}, message="401")

    acme = list_runs(engine, tenant_id="acme", stream="invoices")

    assert [r.run_id for r in acme] == ["scheduled__2", "scheduled__1"]
    assert acme[1] == RunRecord(run_id="scheduled__1", tenant_id="acme", stream="invoices", started_at=T0,
                                finished_at=T0 + timedelta(minutes=3), status="success",
                                counts={"sent": 12, "invalid": 1}, message="12 sent, 1 invalid")
    assert [(r.tenant_id, r.stream) for r in list_runs(engine)] == [
        ("other", "invoices"), ("acme", "transactions"), ("acme", "invoices"), ("acme", "invoices")]
    assert len(list_runs(engine, limit=2)) == 2


def test_a_retried_task_overwrites_its_record(engine: sa.Engine) -> None:
    for status, counts in (("failed", {"sent": 3}), ("success", {"sent": 5})):
        record_run(engine, run_id="manual__x", tenant_id="acme", stream="invoices", started_at=T0,
                   finished_at=T0 + timedelta(minutes=1), status=status, counts=counts)
    [only] = list_runs(engine, tenant_id="acme")
    assert (only.status, only.counts) == ("success", {"sent": 5})
