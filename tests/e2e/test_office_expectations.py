"""What the office expects from the invoice-drafts DAG (issue 17), end to end: real Airflow (dag.test), real HTTP
to the sandbox, SQLite files. Every "sent" is checked against the sandbox's own state, not against the outbox."""

from __future__ import annotations

from decimal import Decimal

import pendulum
import pytest

from lexoffice.lexware_totals import lexware_gross_total
from lexoffice.state import history, tenants
from tests.support import sources as src
from tests.support.world import World, task_states

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

DAG_ID = "lexoffice_invoice_drafts"


def nightly(day: str, hour: int = 3) -> pendulum.DateTime:
    """The logical date of the night run that reads ``day`` (its interval ends at ``hour`` Berlin the next day)."""
    d = pendulum.Date.fromisoformat(day)
    return pendulum.datetime(d.year, d.month, d.day, hour, tz="Europe/Berlin").add(days=1)


def sent_drafts(world: World, tenant_id: str) -> set[str]:
    """The source ids of the drafts that exist in the tenant's Lexware organisation (from their reference line)."""
    found = set()
    for invoice in world.lexware(tenant_id, "invoices"):
        remark = invoice.get("remark") or ""
        found.update(part.split("lxa:draft:")[1].split()[0].strip(").,;") for part in remark.splitlines()
                     if "lxa:draft:" in part)
    return found


def ti_of(run, task_id: str):
    return next(ti for ti in run.get_task_instances() if ti.task_id == task_id)


def office(world: World, *, licensed: bool = True):
    """The field-service source with company c1 and its customer k1; returns the source engine."""
    fs = world.engine(world.fieldservice_url)
    src.company(fs, "c1", licensed=licensed)
    src.customer(fs, "k1", "c1")
    return fs


def test_send_mode_requested_sends_only_what_the_office_chose(world: World) -> None:
    fs = office(world)
    src.draft(fs, "ready", "c1", "k1", requested="2026-10-05")
    src.draft(fs, "unready", "c1", "k1")
    src.draft(fs, "chosen", "c1", "k1")
    world.add_tenant("nord", company_id="c1", send_mode="requested")

    run = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(run.state) == "success", task_states(run)
    assert sent_drafts(world, "nord") == {"ready"}

    # The button on the next day writes only send_requested_at: the next night sends it.
    src.request_send(fs, "unready", when="2026-10-06")
    run = world.run_dag(DAG_ID, logical_date=nightly("2026-10-06"))
    assert str(run.state) == "success", task_states(run)
    assert sent_drafts(world, "nord") == {"ready", "unready"}

    # A manual selection always sends what was selected, requested or not.
    run = world.run_dag(DAG_ID, conf={"tenant": "nord", "document_ids": ["chosen"]})
    assert str(run.state) == "success", task_states(run)
    assert sent_drafts(world, "nord") == {"ready", "unready", "chosen"}
    assert len(world.lexware("nord", "invoices")) == 3


def test_new_tenants_default_to_requested_and_old_ones_keep_all(world: World) -> None:
    world.add_tenant("neu", company_id="c1", send_mode="requested")
    tenants.add_tenant(world.state, tenant_id="plain", name="Plain GmbH", lexoffice_conn_id="lexoffice_plain")
    assert tenants.send_mode(world.state, "plain") == tenants.DEFAULT_SEND_MODE == "requested"
    tenants.set_send_mode(world.state, "plain", "all")
    assert tenants.send_mode(world.state, "plain") == "all"
    with pytest.raises(ValueError, match="send mode"):
        tenants.set_send_mode(world.state, "plain", "some")


def test_a_rejected_draft_selected_again_is_sent_again_and_the_history_says_so(world: World) -> None:
    fs = office(world)
    src.draft(fs, "d1", "c1", "k1")
    world.add_tenant("nord", company_id="c1")
    world.sandbox.admin("POST", "/faults", json={"mode": "before", "status": 406, "count": 1})

    first = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert task_states(first)[("tenant.deliver", 0)] == "success"
    assert world.states("nord", "invoices") == {"draft:d1": "rejected"}
    assert world.lexware("nord", "invoices") == []

    # The same night again (content unchanged): a rejected draft is not sent by itself.
    world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert world.lexware("nord", "invoices") == []

    again = world.run_dag(DAG_ID, conf={"tenant": "nord", "document_ids": ["d1"]})
    assert str(again.state) == "success", task_states(again)
    assert sent_drafts(world, "nord") == {"d1"}
    assert len(world.lexware("nord", "invoices")) == 1
    events = history.events(world.state, tenant_id="nord", stream="invoices", doc_key="draft:d1")
    assert [(e.kind, e.from_state, e.to_state) for e in events] == [("resend", "rejected", "pending")]
    assert "Airflow run" in (events[0].actor or "")


def test_switching_the_licence_on_lets_the_next_nightly_run_send(world: World) -> None:
    fs = office(world, licensed=False)
    src.draft(fs, "d1", "c1", "k1", created="2026-10-05")
    world.add_tenant("nord", company_id="c1")

    world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    (row,) = world.outbox("nord", "invoices")
    assert row.state == "invalid" and row.reasons[0]["code"] == "ACCOUNTING_NOT_LICENSED"

    src.license_accounting(fs, "c1")
    # A night long after: the draft itself did not change, so no window (not even the look-back) reads it.
    run = world.run_dag(DAG_ID, logical_date=nightly("2026-10-20"))
    assert str(run.state) == "success", task_states(run)
    assert sent_drafts(world, "nord") == {"d1"}


def test_a_manual_selection_that_sends_less_than_chosen_fails_with_the_list(world: World) -> None:
    fs = office(world)
    src.draft(fs, "d1", "c1", "k1", number="RE-2026-00026")
    src.draft(fs, "bad", "c1", "k1", title="Rechnung für Schädlingsbekämpfung Oktober")  # title > 25
    world.add_tenant("nord", company_id="c1")

    run = world.run_dag(DAG_ID, conf={"tenant": "nord", "document_ids": ["RE-2026-00026", "bad", "nope"]})
    assert sent_drafts(world, "nord") == {"d1"}  # the draft number names d1
    assert str(run.state) == "failed"
    states = task_states(run)
    assert states[("tenant.deliver", 0)] == "success" and states[("tenant.report", 0)] == "failed"

    clean = world.run_dag(DAG_ID, conf={"tenant": "nord", "document_ids": ["d1"]})
    assert str(clean.state) == "success", task_states(clean)  # already sent: nothing missing
    assert len(world.lexware("nord", "invoices")) == 1


def test_a_total_lexware_shows_differently_is_a_warning_and_the_draft_is_still_sent(world: World) -> None:
    fs = office(world)
    lines = [{"name": f"Kontrolle {i}", "quantity": 1, "unit_price": 91.3, "tax_rate": 19} for i in range(3)]
    # The source rounds the tax of every line: 3 x 108.65 = 325.95; Lexware taxes the column: 325.94.
    src.draft(fs, "d1", "c1", "k1", lines=lines, source_total=325.95)
    src.draft(fs, "d2", "c1", "k1", lines=lines, source_total=325.94)
    world.add_tenant("nord", company_id="c1")

    run = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(run.state) == "success", task_states(run)
    assert sent_drafts(world, "nord") == {"d1", "d2"}
    shown = {Decimal(str(inv["totalPrice"]["totalGrossAmount"])) for inv in world.lexware("nord", "invoices")}
    assert shown == {Decimal("325.94")}
    for row in world.outbox("nord", "invoices"):
        assert lexware_gross_total(row.payload) == Decimal("325.94")
    (warning,) = history.events(world.state, tenant_id="nord", stream="invoices", doc_key="draft:d1")
    assert warning.kind == "warning"
    assert "Lexware Office wird 325,94 € anzeigen, Ihr System zeigt 325,95 €" in warning.message
    assert history.events(world.state, tenant_id="nord", stream="invoices", doc_key="draft:d2") == []

    from lexoffice.report import document_rows

    rows = {r["id"]: r for r in document_rows(world.state, tenant_ids=["nord"], streams=["invoices"])}
    assert "325,95" in rows["d1"]["reason"] and rows["d2"]["reason"] == ""


def test_the_requests_counter_counts_what_reached_lexware_and_each_send_is_logged(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    fs = office(world)
    src.draft(fs, "d1", "c1", "k1")
    src.draft(fs, "d2", "c1", "k1")
    world.add_tenant("nord", company_id="c1")
    org = world.tenants["nord"].org_id
    before = len(world.sandbox.admin("GET", f"/organizations/{org}/requests"))

    run = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(run.state) == "success", task_states(run)
    delivered = ti_of(run, "tenant.deliver").xcom_pull(task_ids="tenant.deliver", map_indexes=0)["nord"]
    seen = len(world.sandbox.admin("GET", f"/organizations/{org}/requests")) - before
    # The invoice DAG's status step reads Lexware after the delivery; its requests are counted on its own.
    synced = ti_of(run, "tenant.status").xcom_pull(task_ids="tenant.status", map_indexes=0)["nord"]
    assert delivered["sent"] == 2
    assert delivered["requests"] > 0
    assert delivered["requests"] + synced["requests"] == seen
    # The task log names each sent document with its Lexware id and "Datum senden", not only the failures.
    logged = [r.getMessage() for r in caplog.records if "Datum senden" in r.getMessage()]
    ids = {inv["id"] for inv in world.lexware("nord", "invoices")}
    assert len(logged) == 2 and all(any(i in line for i in ids) for line in logged), logged
    row = next(r for r in world.outbox("nord", "invoices") if r.lexware_id in logged[0])
    assert pendulum.instance(row.sent_at).in_timezone("Europe/Berlin").strftime("%d.%m.%Y %H:%M:%S") in logged[0]


def test_a_transaction_committed_after_the_nights_read_is_sent_by_the_next_night(world: World) -> None:
    """Completed at 12:00 on the 5th, but written to the source only after the night's 03:30 read."""
    import sqlalchemy as sa

    from lexoffice.source import tables

    bank = world.engine(world.bank_url)
    src.bank_customer(bank, "b1")
    src.account(bank, "a-own", "b1", "DE02120300000000202051")
    src.transaction(bank, "early", "a-own", completed="2026-10-05")
    world.add_tenant("nord", company_id="b1", streams=("transactions",))
    txn_night = "lexoffice_transactions"

    assert str(world.run_dag(txn_night, logical_date=nightly("2026-10-05", 3).add(minutes=30)).state) == "success"
    assert [t["externalReference"] for t in world.lexware("nord", "transactions")] == ["early"]

    src.transaction(bank, "late", "a-own", completed="2026-10-05")  # committed late: the read is over
    with bank.begin() as conn:
        assert conn.execute(sa.select(tables.transactions.c.completed_at)
                            .where(tables.transactions.c.id == "late")).scalar_one() is not None
    run = world.run_dag(txn_night, logical_date=nightly("2026-10-06", 3).add(minutes=30))
    assert str(run.state) == "success", task_states(run)
    assert sorted(t["externalReference"] for t in world.lexware("nord", "transactions")) == ["early", "late"]


def test_lexoffice_resend_is_a_choice_the_next_night_honours_in_send_mode_requested(world: World) -> None:
    from lexoffice import cli

    fs = office(world)
    src.draft(fs, "d1", "c1", "k1")
    world.add_tenant("nord", company_id="c1", send_mode="requested")
    world.sandbox.admin("POST", "/faults", json={"mode": "before", "status": 406, "count": 1})
    rejected = world.run_dag(DAG_ID, conf={"tenant": "nord", "document_ids": ["d1"]})
    assert world.states("nord", "invoices") == {"draft:d1": "rejected"}
    assert str(rejected.state) == "failed"  # the chosen draft was not sent: the run is red, not green

    # Nobody pressed the button in the source; `lexoffice resend` is the office's choice.
    assert cli.main(["--state-url", world.state_url, "resend", "nord", "d1"]) == 0
    run = world.run_dag(DAG_ID, logical_date=nightly("2026-10-20"))
    assert str(run.state) == "success", task_states(run)
    assert sent_drafts(world, "nord") == {"d1"}


def test_a_draft_previewed_in_a_dry_run_is_not_sent_at_night_unless_requested(world: World) -> None:
    """A dry run stages its selection as pending; in send mode 'requested' the night sends only requested drafts."""
    fs = office(world)
    src.draft(fs, "peek", "c1", "k1")
    world.add_tenant("nord", company_id="c1", send_mode="requested")

    dry = world.run_dag(DAG_ID, conf={"tenant": "nord", "document_ids": ["peek"], "dry_run": True})
    assert str(dry.state) == "success", task_states(dry)
    assert world.states("nord", "invoices") == {"draft:peek": "pending"}

    world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert world.lexware("nord", "invoices") == []
    assert world.states("nord", "invoices") == {"draft:peek": "pending"}

    src.request_send(fs, "peek", when="2026-10-06")
    world.run_dag(DAG_ID, logical_date=nightly("2026-10-06"))
    assert sent_drafts(world, "nord") == {"peek"}


def test_kleinunternehmer_switched_off_lets_the_next_night_send_what_waited(world: World) -> None:
    """A tenant-level block holds the whole delivery, not the drafts: they wait as pending and go out after the fix."""
    fs = office(world)
    src.draft(fs, "d1", "c1", "k1", created="2026-10-05", requested="2026-10-05")
    info = world.add_tenant("nord", company_id="c1", small_business=True, send_mode="requested")

    blocked = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(blocked.state) == "failed"
    assert world.states("nord", "invoices") == {"draft:d1": "pending"}

    world.sandbox.admin("PATCH", f"/organizations/{info.org_id}", json={"small_business": False})
    run = world.run_dag(DAG_ID, logical_date=nightly("2026-10-20"))  # the draft is far outside this window
    assert str(run.state) == "success", task_states(run)
    assert sent_drafts(world, "nord") == {"d1"}
