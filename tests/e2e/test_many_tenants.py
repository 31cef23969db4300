"""More tenants than Airflow maps by default (issue 21 item 2), acted out with real Airflow and a small limit.

Airflow maps at most ``core.max_map_length`` tasks (default 1,024). The DAGs map one group per batch of tenants
and make at most ``LEXOFFICE_TENANT_GROUPS`` (default 64) batches, so thousands of tenants fit. A limit set
below the groups fails up front naming both settings; three tenants against a limit of 2 stand in for it."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from tests.e2e.test_invoice_drafts_dag import DAG_ID, nightly
from tests.support import sources as src
from tests.support.world import World, task_states

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _three_tenants(world: World) -> None:
    fs = world.engine(world.fieldservice_url)
    for n in range(3):
        src.company(fs, f"c{n}")
        src.customer(fs, f"k{n}", f"c{n}", name=f"Kunde {n} GmbH")
        src.draft(fs, f"d{n}", f"c{n}", f"k{n}")
        world.add_tenant(f"t{n}", company_id=f"c{n}")


def test_more_tenants_than_the_map_limit_fail_up_front_with_the_setting_to_raise(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from lexoffice.provider.tasks import select_tenants

    _three_tenants(world)
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "2")
    with pytest.raises(AirflowFailException, match="AIRFLOW__CORE__MAX_MAP_LENGTH") as err:
        select_tenants("invoices", {"params": {}})
    assert "3 tenant groups" in str(err.value) and "at most 2" in str(err.value)
    assert "LEXOFFICE_TENANT_GROUPS" in str(err.value)
    run = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(run.state) == "failed"
    assert all(world.lexware(f"t{n}", "invoices") == [] for n in range(3))


@pytest.mark.parametrize("setting", [{"AIRFLOW__CORE__MAX_MAP_LENGTH": "3"}, {"LEXOFFICE_TENANT_GROUPS": "2"}])
def test_with_the_limit_raised_or_fewer_groups_every_tenant_runs(world: World, monkeypatch: pytest.MonkeyPatch,
                                                                 setting: dict[str, str]) -> None:
    _three_tenants(world)
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "2")
    for name, value in setting.items():
        monkeypatch.setenv(name, value)
    run = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(run.state) == "success", task_states(run)
    assert [len(world.lexware(f"t{n}", "invoices")) for n in range(3)] == [1, 1, 1]


def test_more_tenants_than_run_at_once_is_said_not_silent(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """Airflow queues tasks beyond max_active_tasks/parallelism without a word; select_tenants names the cap."""
    from types import SimpleNamespace

    from lexoffice.provider.tasks import select_tenants

    _three_tenants(world)
    with caplog.at_level("WARNING", logger="lexoffice.provider.tasks"):
        select_tenants("invoices", {"params": {}, "dag": SimpleNamespace(max_active_tasks=2)})
    said = [r.getMessage() for r in caplog.records if "at most 2 at once" in r.getMessage()]
    assert said and "MAX_ACTIVE_TASKS_PER_DAG=2" in said[0] and "3 tenant groups for invoices" in said[0]
    caplog.clear()
    with caplog.at_level("WARNING", logger="lexoffice.provider.tasks"):
        select_tenants("invoices", {"params": {}, "dag": SimpleNamespace(max_active_tasks=3)})
    assert not [r for r in caplog.records if "at once" in r.getMessage()]


@pytest.mark.slow
@pytest.mark.scale
@pytest.mark.timeout(3 * 3600)
def test_eleven_hundred_tenants_with_nothing_to_send_run_to_the_end(world: World) -> None:
    """The real > 1,024 case (issue 21): 1,100 tenants of the transactions stream, disconnected so that nothing
    is sent and no sandbox organisation is needed, with Airflow's default map limit: 64 batches of 17 or 18."""
    from lexoffice.state import runs, tenants

    from tests.e2e.test_transactions_dag import DAG_ID as TRANSACTIONS

    count = 1100
    for n in range(count):
        tenants.add_tenant(world.state, tenant_id=f"m{n:04d}", name=f"Mandant {n}", lexoffice_conn_id=f"lx_m{n}",
                           bank_company_id=f"b{n}", export_since=None)
    run = world.run_dag(TRANSACTIONS, logical_date=nightly("2026-10-05"))
    states = task_states(run)
    assert str(run.state) == "success", {k: v for k, v in states.items() if v != "success"}
    assert sum(1 for (task_id, _), state in states.items() if task_id == "tenant.report" and state == "success") \
        == 64
    recorded = {r.tenant_id for r in runs.list_runs(world.state, stream="transactions", limit=None) if r.run_id == run.run_id}
    assert len(recorded) == count  # every tenant's deliver ran (and said it is disconnected)
