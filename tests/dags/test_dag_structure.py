"""The DAGs as a user meets them in Airflow: parse cleanly, nightly in Europe/Berlin, params with titles."""

from __future__ import annotations

import subprocess
import sys

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import CronDataIntervalTimetable

from tests.conftest import ROOT

DAG_IDS = ["lexoffice_invoice_drafts", "lexoffice_transactions"]


@pytest.fixture(scope="module")
def bag() -> DagBag:
    return DagBag(dag_folder=str(ROOT / "dags"))


def test_dags_parse_without_errors(bag: DagBag) -> None:
    assert bag.import_errors == {}
    assert sorted(bag.dags) == DAG_IDS


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_nightly_data_interval_schedule_one_run_at_a_time(bag: DagBag, dag_id: str) -> None:
    dag = bag.dags[dag_id]
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert str(getattr(dag.timetable.timezone, "name", dag.timetable.timezone)) == "Europe/Berlin"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.doc_md and "Lexware Office" in dag.doc_md


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_manual_trigger_form_params(bag: DagBag, dag_id: str) -> None:
    params = bag.dags[dag_id].params
    assert set(params.keys()) == {"tenant", "document_ids", "dry_run", "from_date", "to_date"}
    for key in params.keys():
        param = params.get_param(key)
        assert param.schema.get("title") and param.description, key


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_per_tenant_stage_deliver_report_with_docs(bag: DagBag, dag_id: str) -> None:
    from lexoffice.provider import operators

    dag = bag.dags[dag_id]
    tasks = dag.task_dict
    # Invoices read back their Lexware status between deliver and report (lexoffice/followup/).
    follow = ["tenant.status"] if dag_id == "lexoffice_invoice_drafts" else []
    assert set(tasks) == {"select_tenants", "tenant.stage", "tenant.deliver", "tenant.report", *follow}
    chain = ["tenant.stage", "tenant.deliver", *follow, "tenant.report"]
    for upstream, downstream in zip(chain, chain[1:]):
        assert downstream in tasks[upstream].downstream_task_ids, (upstream, downstream)
    # The report gets every step's result as an argument (XComArg), so it also follows each of them.
    assert tasks["tenant.report"].upstream_task_ids == {"select_tenants", *chain[:-1]}
    assert tasks["tenant.report"].trigger_rule == "all_done"
    kinds = {"tenant.stage": operators.LexofficeStageOperator, "tenant.deliver": operators.LexofficeDeliverOperator,
             "tenant.status": operators.LexofficeStatusOperator, "tenant.report": operators.LexofficeReportOperator}
    for task_id in chain:
        assert tasks[task_id].operator_class is kinds[task_id] or isinstance(tasks[task_id], kinds[task_id])
    for task in tasks.values():
        assert task.doc or task.doc_md or getattr(task, "doc_rst", None) or task.python_callable.__doc__


@pytest.mark.parametrize("dag_file", ["lexoffice_invoice_drafts.py", "lexoffice_transactions.py"])
def test_dag_files_import_no_heavy_modules(dag_file: str) -> None:
    """pandas, SQLAlchemy and requests load inside the tasks, not when the DAG processor parses the file."""
    code = (
        "import sys, runpy, airflow.sdk\n"
        f"runpy.run_path({str(ROOT / 'dags' / dag_file)!r})\n"
        "heavy = [m for m in ('pandas', 'lexoffice.client', 'lexoffice.state', 'lexoffice.source') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={**__import__("os").environ, "PYTHONPATH": f"{ROOT}/plugins:{ROOT}"})
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_what_the_ui_shows_berlin_time_a_description_an_owner_and_paused(bag: DagBag, dag_id: str) -> None:
    """The UI takes the timezone from start_date ("Timezone UTC", "Next Run 02:00" without it)."""
    dag = bag.dags[dag_id]
    assert dag.start_date is not None
    assert str(dag.timezone.name) == "Europe/Berlin"
    assert dag.description and "Lexware Office" in dag.description
    assert dag.owner == "buchhaltung"
    # A dry run triggered with "Unpause on trigger" would otherwise start the real nightly schedule.
    assert dag.is_paused_upon_creation is True


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_no_param_is_marked_required_in_the_trigger_form(bag: DagBag, dag_id: str) -> None:
    """The form marks a field required when its type does not allow null, even with a default."""
    params = bag.dags[dag_id].params
    for key in params.keys():
        kind = params.get_param(key).schema.get("type")
        assert isinstance(kind, list) and "null" in kind, (key, kind)


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_each_task_pushes_one_xcom_not_one_per_key(bag: DagBag, dag_id: str) -> None:
    for task in bag.dags[dag_id].tasks:
        assert task.multiple_outputs is False, task.task_id
