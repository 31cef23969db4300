"""The invoice-drafts DAG end to end: real Airflow (dag.test), real HTTP to the sandbox, SQLite files."""

from __future__ import annotations

from datetime import date

import pendulum
import pytest

from lexoffice.state import tenants
from lexoffice.state.tenants import ExportSinceError
from tests.support import sources as src
from tests.support.world import World, task_states

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

DAG_ID = "lexoffice_invoice_drafts"


def nightly(day: str) -> pendulum.DateTime:
    """The logical date whose data interval is the night run covering ``day`` (03:00 to 03:00 Berlin)."""
    d = date.fromisoformat(day)
    return pendulum.datetime(d.year, d.month, d.day, 3, tz="Europe/Berlin").add(days=1)


def invoice_posts(world: World, tenant_id: str) -> int:
    reqs = world.sandbox.admin("GET", f"/organizations/{world.tenants[tenant_id].org_id}/requests")
    return sum(1 for r in reqs if r["method"] == "POST" and r["path"].startswith("/v1/invoices"))


def test_nightly_run_sends_all_three_origins_as_drafts_exactly_once(world: World) -> None:
    fs = world.engine(world.fieldservice_url)
    src.company(fs, "c1")
    src.customer(fs, "k1", "c1", name="Bäckerei Müller & Söhne GmbH")
    src.customer(fs, "k2", "c1", name="Hotel Rheinblick GmbH & Co. KG")
    src.draft(fs, "d1", "c1", "k1", origin="work_order")
    src.draft(fs, "d2", "c1", "k2", origin="contract")
    src.draft(fs, "d3", "c1", "k1", origin="manual")
    src.draft(fs, "bad", "c1", "k2", title="Rechnung für Schädlingsbekämpfung Oktober")  # title > 25
    src.draft(fs, "later", "c1", "k1", created="2026-10-07")  # outside the window
    world.add_tenant("nord", company_id="c1")

    run = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(run.state) == "success", task_states(run)

    invoices = world.lexware("nord", "invoices")
    assert len(invoices) == 3
    assert {inv["voucherStatus"] for inv in invoices} == {"draft"}
    contacts = {c["id"]: c for c in world.lexware("nord", "contacts")}
    assert len(contacts) == 2  # one per customer, created once although k1 has two drafts
    by_ref = {}
    for inv in invoices:
        assert inv["address"]["contactId"] in contacts
        by_ref[next(key for key in ("d1", "d2", "d3") if f"lxa:draft:{key}" in inv["remark"]
                    or f"lxa:{key}" in inv["remark"])] = inv
    assert set(by_ref) == {"d1", "d2", "d3"}
    # 2 × 49.50 at 19 % and 3 × 4.20 at 7 %, taxed per rate (column method)
    for inv in invoices:
        assert inv["totalPrice"]["totalNetAmount"] == pytest.approx(111.60)
        assert inv["totalPrice"]["totalTaxAmount"] == pytest.approx(18.81 + 0.88)
        assert inv["totalPrice"]["totalGrossAmount"] == pytest.approx(131.29)
    states = world.states("nord", "invoices")
    assert sorted(states.values()) == ["invalid", "sent", "sent", "sent"]
    bad = next(r for r in world.outbox("nord", "invoices") if r.state == "invalid")
    assert any(reason["field"] == "title" for reason in bad.reasons)
    sent = [r for r in world.outbox("nord", "invoices") if r.state == "sent"]
    assert all(r.lexware_id and r.sent_at for r in sent)

    posts_before = invoice_posts(world, "nord")
    again = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(again.state) == "success"
    assert len(world.lexware("nord", "invoices")) == 3
    assert invoice_posts(world, "nord") == posts_before


def test_dry_run_sends_nothing_and_selection_sends_exactly_the_selected(world: World) -> None:
    fs = world.engine(world.fieldservice_url)
    src.company(fs, "c1")
    src.customer(fs, "k1", "c1")
    for key in ("d1", "d2", "d3"):
        src.draft(fs, key, "c1", "k1")
    world.add_tenant("nord", company_id="c1")

    dry = world.run_dag(DAG_ID, conf={"tenant": "nord", "document_ids": ["d1", "d2"], "dry_run": True})
    assert str(dry.state) == "success", task_states(dry)
    assert world.lexware("nord", "invoices") == []
    preview = [ti for ti in dry.get_task_instances() if ti.task_id == "tenant.deliver"][0].xcom_pull(
        task_ids="tenant.deliver", map_indexes=0)["nord"]  # a batch's results are keyed by tenant id
    assert sorted(item["doc_key"] for item in preview["would_send"]) == sorted(
        r.doc_key for r in world.outbox("nord", "invoices"))
    assert len(preview["would_send"]) == 2

    selected = world.run_dag(DAG_ID, conf={"tenant": "nord", "document_ids": ["d2"]})
    assert str(selected.state) == "success", task_states(selected)
    invoices = world.lexware("nord", "invoices")
    assert len(invoices) == 1 and "d2" in invoices[0]["remark"]
    assert sorted(world.states("nord", "invoices").values()) == ["pending", "sent"]


def test_invalid_params_are_refused_with_the_reason(world: World) -> None:
    fs = world.engine(world.fieldservice_url)
    src.company(fs, "c1")
    world.add_tenant("nord", company_id="c1")
    for conf, needle in (({"document_ids": ["d1"]}, "needs 'tenant'"), ({"tenant": "nobody"}, "'tenant'"),
                         ({"from_date": "2026-10-09", "to_date": "2026-10-01"}, "to_date")):
        run = world.run_dag(DAG_ID, conf=conf)
        assert str(run.state) == "failed"
        assert task_states(run)[("select_tenants", -1)] == "failed"


def test_small_business_and_organisation_mismatch_are_refused_before_any_post(world: World) -> None:
    fs = world.engine(world.fieldservice_url)
    for company in ("c1", "c2", "c3"):
        src.company(fs, company)
        src.customer(fs, f"k-{company}", company)
        src.draft(fs, f"d-{company}", company, f"k-{company}")
    world.add_tenant("klein", company_id="c1", small_business=True)
    world.add_tenant("moved", company_id="c2")
    world.add_tenant("ok", company_id="c3")
    other = world.sandbox.admin("POST", "/organizations", json={"company_name": "Fremde GmbH"})
    world.set_lexoffice_conn("moved", other["api_key"])  # the key now belongs to another organisation

    run = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(run.state) == "failed"  # so alerting fires
    assert invoice_posts(world, "klein") == 0 and world.lexware("klein", "contacts") == []
    assert world.sandbox.admin("GET", f"/organizations/{other['organization_id']}/invoices") == []
    assert set(world.states("klein", "invoices").values()) == {"pending"}
    assert set(world.states("moved", "invoices").values()) == {"pending"}
    assert len(world.lexware("ok", "invoices")) == 1  # the other tenants go on


def test_export_since_is_honoured_and_never_moves_earlier(world: World) -> None:
    fs = world.engine(world.fieldservice_url)
    src.company(fs, "c1")
    src.customer(fs, "k1", "c1")
    src.draft(fs, "old", "c1", "k1", created="2026-10-05")
    src.draft(fs, "new", "c1", "k1", created="2026-10-11")
    world.add_tenant("nord", company_id="c1", export_since=date(2026, 10, 10))

    before = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(before.state) == "success"
    assert world.outbox("nord", "invoices") == []  # the whole window lies before export_since: skipped

    straddling = world.run_dag(DAG_ID, conf={"from_date": "2026-10-01", "to_date": "2026-10-12"})
    assert str(straddling.state) == "success"
    assert list(world.states("nord", "invoices").values()) == ["sent"]
    assert len(world.lexware("nord", "invoices")) == 1

    with pytest.raises(ExportSinceError, match="only move forward"):
        tenants.set_export_since(world.state, "nord", date(2026, 9, 1))


def test_disconnect_gap_is_delivered_once_after_reconnect_and_backfill_sends_nothing(world: World) -> None:
    fs = world.engine(world.fieldservice_url)
    src.company(fs, "c1")
    src.customer(fs, "k1", "c1")
    src.draft(fs, "d5", "c1", "k1", created="2026-10-05")
    src.draft(fs, "d6", "c1", "k1", created="2026-10-06")
    src.draft(fs, "d7", "c1", "k1", created="2026-10-07")
    world.add_tenant("nord", company_id="c1")

    assert str(world.run_dag(DAG_ID, logical_date=nightly("2026-10-05")).state) == "success"
    world.disconnect("nord")
    for day in ("2026-10-06", "2026-10-07"):
        run = world.run_dag(DAG_ID, logical_date=nightly(day))
        assert str(run.state) == "success", task_states(run)  # a deliberate disconnect is not an alert
    assert len(world.lexware("nord", "invoices")) == 1
    assert sorted(world.states("nord", "invoices").values()) == ["pending", "pending", "sent"]

    world.connect("nord")
    assert str(world.run_dag(DAG_ID, logical_date=nightly("2026-10-08")).state) == "success"
    assert len(world.lexware("nord", "invoices")) == 3
    assert set(world.states("nord", "invoices").values()) == {"sent"}

    posts = invoice_posts(world, "nord")
    for day in ("2026-10-05", "2026-10-06", "2026-10-07"):  # what `airflow backfill create` runs, day by day
        assert str(world.run_dag(DAG_ID, logical_date=nightly(day)).state) == "success"
    assert invoice_posts(world, "nord") == posts
    assert len(world.lexware("nord", "invoices")) == 3
