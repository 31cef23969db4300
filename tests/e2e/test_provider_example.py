"""The operators in a user's own DAG, run with real Airflow (dag.test) against the sandbox: the example of
docs/provider.md as written there, and the operators mapped per tenant with ``.partial().expand()``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support import sources as src
from tests.support.world import World, task_states

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _example_code() -> str:
    text = (ROOT / "docs" / "provider.md").read_text(encoding="utf-8")
    section = text[text.index("## Example: one tenant from your own DAG"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _parse(folder: Path, name: str, code: str, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN202 - a DagBag
    """The user's DAG file in its own DAG bundle (dag.test() serialises the DAGs of the configured bundles)."""
    import json

    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([{
        "name": f"user-{folder.parent.name}", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(folder)}}]))
    (folder / f"{name}.py").write_text(code, encoding="utf-8")
    bag = DagBag(dag_folder=str(folder))
    assert bag.import_errors == {}, bag.import_errors
    return bag


def _drafts(world: World, tenant_id: str, company: str, *draft_ids: str) -> None:
    fs = world.engine(world.fieldservice_url)
    src.company(fs, company)
    src.customer(fs, f"k-{company}", company, name=f"Kunde {company} GmbH")
    for draft_id in draft_ids:
        src.draft(fs, draft_id, company, f"k-{company}", created="2026-10-03")
    world.add_tenant(tenant_id, company_id=company)


def test_the_documented_example_dag_stages_delivers_and_reports_one_tenant(world: World, tmp_path: Path) -> None:
    _drafts(world, "acme", "c-acme", "d1", "d2")
    _drafts(world, "other", "c-other", "o1")  # another tenant of the same source: left alone
    folder = tmp_path / "user_dags"
    folder.mkdir()
    dag = _parse(folder, "acme_invoices", _example_code(), world.monkeypatch).dags["acme_invoices"]
    assert [t.task_id for t in dag.tasks] == ["stage", "deliver", "report"]

    run = dag.test()
    assert str(run.state) == "success", task_states(run)
    assert sorted(inv["remark"].count("lxa:") for inv in world.lexware("acme", "invoices")) == [1, 1]
    assert world.lexware("other", "invoices") == []
    assert set(world.states("acme", "invoices").values()) == {"sent"}

    assert _delivered_events(run.run_id) == [{"tenant_id": "acme", "delivered": 2, "run_id": run.run_id}]

    again = dag.test()  # a second run finds everything sent: nothing twice
    assert str(again.state) == "success", task_states(again)
    assert len(world.lexware("acme", "invoices")) == 2
    assert _delivered_events(again.run_id) == []  # nothing delivered, so no event wakes a downstream DAG


def _delivered_events(run_id: str) -> list[dict[str, object]]:
    """A run's asset events for delivered invoices in Airflow's metadata DB (what a DAG scheduled on them sees)."""
    import sqlalchemy as sa
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.execute(sa.select(AssetEvent.extra).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                               .where(AssetModel.uri == "lexoffice://delivered/invoices")
                               .order_by(AssetEvent.id)).scalars()
        return [{k: v for k, v in extra.items() if not k.startswith("from_")} for extra in rows
                if extra.get("run_id") == run_id]


MAPPED_DAG = '''
import pendulum
from airflow.sdk import DAG

from lexoffice.provider.operators import LexofficeDeliverOperator, LexofficeStageOperator

TENANTS = [{"tenant_id": "t0", "name": "Null GmbH"}, {"tenant_id": "t1", "name": "Eins GmbH"}]

with DAG(dag_id="mapped_tenants", schedule=None, start_date=pendulum.datetime(2026, 10, 1, tz="Europe/Berlin"),
         params={"dry_run": False}):
    common = {"stream": "invoices", "source_conn_id": "lexoffice_fieldservice",
              "map_index_template": "{{ tenant_label }}"}
    staged = LexofficeStageOperator.partial(task_id="stage", from_date="2026-10-01", to_date="2026-10-05",
                                            **common).expand(tenant=TENANTS)
    staged >> LexofficeDeliverOperator.partial(task_id="deliver", **common).expand(tenant=TENANTS)
'''


def test_partial_expand_maps_the_operators_per_tenant(world: World, tmp_path: Path) -> None:
    _drafts(world, "t0", "c0", "a1")
    _drafts(world, "t1", "c1", "b1", "b2")
    folder = tmp_path / "user_dags"
    folder.mkdir()
    dag = _parse(folder, "mapped_tenants", MAPPED_DAG, world.monkeypatch).dags["mapped_tenants"]

    dry = dag.test(run_conf={"dry_run": True})  # unset dry_run fields take the run's param
    assert str(dry.state) == "success", task_states(dry)
    assert world.lexware("t0", "invoices") == [] and world.lexware("t1", "invoices") == []

    run = dag.test(run_conf={"dry_run": False})
    assert str(run.state) == "success", task_states(run)
    labels = {(ti.task_id, ti.rendered_map_index) for ti in run.get_task_instances()}
    assert labels == {(step, name) for step in ("stage", "deliver") for name in ("Null GmbH", "Eins GmbH")}
    assert [len(world.lexware(t, "invoices")) for t in ("t0", "t1")] == [1, 2]
