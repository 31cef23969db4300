"""More tenants than Airflow maps by default (issue 21 item 2), acted out with real Airflow and a small limit.

Airflow maps at most ``core.max_map_length`` tasks (default 1,024); with more tenants ``select_tenants`` used to
fail with Airflow's own "unmappable return value length" error. Now it fails up front naming the setting and
what to do, and with the setting raised (docker-compose.yaml sets 10,000) every tenant runs. Three tenants
against a limit of 2 stand in for 1,025 against 1,024 (the same code path, seconds instead of an hour)."""

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
    assert "3 tenants" in str(err.value) and "at most 2" in str(err.value)
    run = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(run.state) == "failed"
    assert all(world.lexware(f"t{n}", "invoices") == [] for n in range(3))


def test_with_the_limit_raised_every_tenant_runs(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _three_tenants(world)
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "3")
    run = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(run.state) == "success", task_states(run)
    assert [len(world.lexware(f"t{n}", "invoices")) for n in range(3)] == [1, 1, 1]
