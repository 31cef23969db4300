"""The invoice DAG's status step end to end: real Airflow (dag.test), real HTTP to the sandbox, SQLite files.

Night one sends three drafts and records them as drafts in Lexware; the accountant then finalizes and is paid
for one and deletes another; night two records that, writes it back to the field-service database (write-back
turned on for the tenant), sends nothing again, and `lexoffice report` shows it with German labels.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
import pytest
import requests
import sqlalchemy as sa

from lexoffice.cli import main as cli
from lexoffice.state import history, lexware_status
from lexoffice.state.schema import outbox
from tests.e2e.test_invoice_drafts_dag import invoice_posts, nightly
from tests.support import sources as src
from tests.support.world import World, task_states

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
DAG_ID = "lexoffice_invoice_drafts"


def _act(world: World, lexware_id: str, action: str) -> None:
    url = f"{world.sandbox.base_url}/_admin/organizations/{world.tenants['nord'].org_id}/invoices/{lexware_id}"
    response = requests.delete(url, timeout=10) if action == "delete" else requests.post(f"{url}/{action}",
                                                                                           timeout=10)
    assert response.ok, response.text


def test_status_is_read_back_after_delivery_and_written_to_the_source(world: World,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    fs = world.engine(world.fieldservice_url)
    src.company(fs, "c1")
    src.customer(fs, "k1", "c1")
    for key in ("d1", "d2", "d3"):
        src.draft(fs, key, "c1", "k1")
    world.add_tenant("nord", company_id="c1")
    assert cli(["--state-url", world.state_url, "tenant", "writeback", "nord", "--on"]) == 0

    first = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(first.state) == "success", task_states(first)
    assert task_states(first)[("tenant.status", 0)] == "success"
    statuses = lexware_status.statuses(world.state, tenant_id="nord", stream="invoices")
    assert {k: s.status for k, s in statuses.items()} == {"draft:d1": "draft", "draft:d2": "draft",
                                                         "draft:d3": "draft"}

    ids = {r.doc_key: r.lexware_id for r in world.outbox("nord", "invoices")}
    _act(world, ids["draft:d1"], "finalize")
    _act(world, ids["draft:d1"], "pay")
    _act(world, ids["draft:d2"], "delete")
    with world.state.begin() as conn:  # d2 was sent yesterday: past the grace period for a look-up by id
        conn.execute(sa.update(outbox).where(outbox.c.doc_key == "draft:d2")
                     .values(sent_at=pendulum.now("UTC") - timedelta(days=1)))
    posts = invoice_posts(world, "nord")

    second = world.run_dag(DAG_ID, logical_date=nightly("2026-10-06"))
    assert str(second.state) == "success", task_states(second)
    summary = next(ti for ti in second.get_task_instances() if ti.task_id == "tenant.status").xcom_pull(
        task_ids="tenant.status", map_indexes=0)["nord"]
    assert (summary["open_before"], summary["deleted"], summary["changed"]) == (3, 1, 2)
    # profile, one voucher-list page of open and one of settled invoices, one look-up of the deleted draft
    assert summary["requests"] == 4 and summary["written_back"] == 2  # d1 and d2 changed; d3 is not rewritten
    statuses = lexware_status.statuses(world.state, tenant_id="nord", stream="invoices")
    assert {k: (s.status, s.voucher_number) for k, s in statuses.items()} == {
        "draft:d1": ("paid", "RE0001"), "draft:d2": ("deleted", None), "draft:d3": ("draft", None)}
    assert invoice_posts(world, "nord") == posts  # the deleted draft was not sent again
    assert len(world.lexware("nord", "invoices")) == 2

    with fs.connect() as conn:
        written = {r.source_id: r for r in conn.execute(sa.text(
            "SELECT source_id, state, lexware_id, datum_senden, lexware_status, voucher_number, reason "
            "FROM lexoffice_airflow_status WHERE company_id = 'c1'"))}
    assert {k: (r.state, r.lexware_status, r.voucher_number) for k, r in written.items()} == {
        "d1": ("sent", "paid", "RE0001"), "d2": ("sent", "deleted", None), "d3": ("sent", "draft", None)}
    assert written["d1"].lexware_id == ids["draft:d1"] and written["d1"].datum_senden
    assert written["d2"].reason == "nicht erneut gesendet (in Lexware gelöscht); erneut senden: " \
                                   "lexoffice resend nord d2"

    capsys.readouterr()
    assert cli(["--state-url", world.state_url, "report", "--tenant", "nord", "--stream", "invoices"]) == 0
    out = capsys.readouterr().out
    assert "lexware_status" in out and "rechnungsnummer" in out
    line_d1 = next(line for line in out.splitlines() if " d1 " in line)
    assert "Bezahlt" in line_d1 and "RE0001" in line_d1
    line_d2 = next(line for line in out.splitlines() if " d2 " in line)
    assert "In Lexware gelös" in line_d2 and "nicht erneut gesendet" in line_d2

    # Only a person sends a deleted draft again, and only a deleted one.
    assert cli(["--state-url", world.state_url, "resend-deleted", "nord", "d1"]) != 0  # the deprecated alias
    assert "nicht als gelöscht bekannt" in capsys.readouterr().out
    assert cli(["--state-url", world.state_url, "resend", "nord", "d2"]) == 0
    third = world.run_dag(DAG_ID, logical_date=nightly("2026-10-07"))
    assert str(third.state) == "success", task_states(third)
    assert invoice_posts(world, "nord") == posts + 1
    resent = next(r for r in world.outbox("nord", "invoices") if r.doc_key == "draft:d2")
    assert str(resent.state) == "sent" and resent.lexware_id not in (None, ids["draft:d2"])
    assert resent.lexware_id in {inv["id"] for inv in world.lexware("nord", "invoices")}
    again = lexware_status.statuses(world.state, tenant_id="nord", stream="invoices")["draft:d2"]
    assert (again.lexware_id, again.status) == (resent.lexware_id, "draft")


def test_a_deleted_draft_selected_in_a_run_is_sent_again_as_the_source_has_it_now(world: World) -> None:
    """The page's "An die Buchhaltung senden" (a run with ``document_ids``) is the same resend as the CLI: a draft
    deleted in Lexware goes out once more, staged from the current source (not the payload sent before the
    deletion); a selected draft that still exists in Lexware is not sent again."""
    fs = world.engine(world.fieldservice_url)
    src.company(fs, "c1")
    src.customer(fs, "k1", "c1")
    for key in ("d1", "d2"):
        src.draft(fs, key, "c1", "k1")
    world.add_tenant("nord", company_id="c1")
    first = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(first.state) == "success", task_states(first)
    ids = {r.doc_key: r.lexware_id for r in world.outbox("nord", "invoices")}
    _act(world, ids["draft:d2"], "delete")
    src.touch_draft(fs, "d2", when="2026-10-06", title="Rechnung korrigiert")  # fixed after the deletion
    with world.state.begin() as conn:  # sent yesterday: past the grace period for a look-up by id
        conn.execute(sa.update(outbox).where(outbox.c.doc_key == "draft:d2")
                     .values(sent_at=pendulum.now("UTC") - timedelta(days=1)))
    second = world.run_dag(DAG_ID, logical_date=nightly("2026-10-06"))
    assert str(second.state) == "success", task_states(second)
    assert lexware_status.statuses(world.state, tenant_id="nord", stream="invoices")["draft:d2"].status == "deleted"
    posts = invoice_posts(world, "nord")

    chosen = world.run_dag(DAG_ID, conf={"tenant": "nord", "document_ids": ["d1", "d2"]})

    assert str(chosen.state) == "success", task_states(chosen)
    assert invoice_posts(world, "nord") == posts + 1  # d2 only
    rows = {r.doc_key: r for r in world.outbox("nord", "invoices")}
    assert rows["draft:d1"].lexware_id == ids["draft:d1"]
    resent = rows["draft:d2"]
    assert str(resent.state) == "sent" and resent.lexware_id not in (None, ids["draft:d2"])
    in_sandbox = {inv["id"]: inv for inv in world.lexware("nord", "invoices")}
    assert in_sandbox[resent.lexware_id]["title"] == "Rechnung korrigiert"
    events = history.events(world.state, tenant_id="nord", stream="invoices", doc_key="draft:d2")
    assert [(e.kind, e.from_state, e.to_state) for e in events] == [("resend", "sent", "pending")]
    assert "Airflow run" in (events[0].actor or "")
