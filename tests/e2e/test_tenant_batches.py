"""Tenants shared out into batches (issue 21 item 2), acted out with real Airflow against the sandbox.

With more tenants than ``LEXOFFICE_TENANT_GROUPS`` the DAG maps one task group per batch instead of per tenant
(Airflow's scheduler slows with every task instance of a run). Five tenants in two groups stand in for 2,000 in
64: the same code path. What a user depends on: every tenant's drafts reach Lexware once, one tenant's failure
stops neither the others of its batch nor the other batches, the run says which tenant failed, and the next
night sends the rest without sending anything twice."""

from __future__ import annotations

import logging

import pytest

from tests.e2e.test_invoice_drafts_dag import DAG_ID, nightly
from tests.e2e.test_provider_example import _delivered_events
from tests.support import sources as src
from tests.support.world import World, task_states

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

TENANTS = ("t0", "t1", "t2", "t3", "t4")


def _tenants(world: World) -> None:
    fs = world.engine(world.fieldservice_url)
    for n, tenant_id in enumerate(TENANTS):
        src.company(fs, f"c{n}")
        src.customer(fs, f"k{n}", f"c{n}", name=f"Kunde {n} GmbH")
        for d in range(n % 2 + 1):  # one or two drafts each
            src.draft(fs, f"d{n}-{d}", f"c{n}", f"k{n}", created="2026-10-03")
        world.add_tenant(tenant_id, company_id=f"c{n}", name=f"Mandant {n} GmbH")


def _drafts_in_lexware(world: World) -> dict[str, list[str]]:
    """Per tenant, the source drafts the sandbox holds (its own state, not the outbox), duplicates included."""
    found = {}
    for tenant_id in TENANTS:
        remarks = [inv.get("remark") or "" for inv in world.lexware(tenant_id, "invoices")]
        found[tenant_id] = sorted(r.split("lxa:")[1].split()[0] for r in remarks if "lxa:" in r)
    return found


def test_batches_deliver_every_tenant_once_and_a_failing_tenant_stops_no_other(
        world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    _tenants(world)
    monkeypatch.setenv("LEXOFFICE_TENANT_GROUPS", "2")
    good_key = world.tenants["t1"].api_key
    world.set_lexoffice_conn("t1", "falscher-schluessel")  # Lexware refuses t1: its delivery is blocked

    with caplog.at_level(logging.INFO):
        run = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    states = task_states(run)
    assert str(run.state) == "failed", states  # the report of t1's batch fails, so alerting fires

    labels = {(ti.task_id, ti.map_index): ti.rendered_map_index for ti in run.get_task_instances()
              if ti.task_id.startswith("tenant.")}
    assert labels[("tenant.deliver", 0)] == "Mandant 0 GmbH … Mandant 2 GmbH (3 Mandanten)"
    assert labels[("tenant.deliver", 1)] == "Mandant 3 GmbH … Mandant 4 GmbH (2 Mandanten)"
    assert states[("tenant.deliver", 0)] == "success"  # t0 and t2 delivered beside the blocked t1
    assert states[("tenant.report", 0)] == "failed" and states[("tenant.report", 1)] == "success"

    sent = _drafts_in_lexware(world)
    assert len(sent["t0"]) == 1 and len(sent["t2"]) == 1 and len(sent["t3"]) == 2 and len(sent["t4"]) == 1
    assert sent["t1"] == []
    assert set(world.states("t1", "invoices").values()) == {"pending"}  # nothing lost: it waits for the fix
    events = sorted(e["tenant_id"] for e in _delivered_events(run.run_id))
    assert events == ["t0", "t2", "t3", "t4"]  # one asset event per tenant that delivered

    messages = [r.getMessage() for r in caplog.records]
    failed = [m for m in messages if "report: 1 von 3 Mandanten fehlgeschlagen" in m]
    assert failed and "t1:" in failed[0]  # the run names the tenant and its reason
    assert any(m.startswith("[t2] ") and "Datum senden" in m for m in messages)  # a batch's lines name the tenant

    world.set_lexoffice_conn("t1", good_key)  # the office fixes the key; the next night sends the rest
    again = world.run_dag(DAG_ID, logical_date=nightly("2026-10-06"))
    assert str(again.state) == "success", task_states(again)
    sent = _drafts_in_lexware(world)
    assert {t: len(v) for t, v in sent.items()} == {"t0": 1, "t1": 2, "t2": 1, "t3": 2, "t4": 1}
    assert all(len(set(v)) == len(v) for v in sent.values())  # never twice
    assert sorted(e["tenant_id"] for e in _delivered_events(again.run_id)) == ["t1"]


def test_up_to_the_group_limit_each_tenant_keeps_its_own_group(world: World) -> None:
    _tenants(world)
    run = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))  # 5 tenants, default limit 64
    assert str(run.state) == "success", task_states(run)
    labels = sorted(ti.rendered_map_index for ti in run.get_task_instances() if ti.task_id == "tenant.deliver")
    assert labels == [f"Mandant {n} GmbH" for n in range(5)]
    assert {t: len(v) for t, v in _drafts_in_lexware(world).items()} == {"t0": 1, "t1": 2, "t2": 1, "t3": 2,
                                                                          "t4": 1}


def test_a_group_limit_that_is_no_number_is_refused_naming_the_variable(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from lexoffice.provider.tasks import select_tenants

    _tenants(world)
    monkeypatch.setenv("LEXOFFICE_TENANT_GROUPS", "viele")
    with pytest.raises(AirflowFailException, match="LEXOFFICE_TENANT_GROUPS='viele' is not a number of tenant groups"):
        select_tenants("invoices", {"params": {}})
