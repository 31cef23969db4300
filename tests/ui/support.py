"""Helpers for the UI tests: DAGs into the metadata DB, source rows, and the runs the page created."""

from __future__ import annotations

from typing import Any


def sync_dags() -> None:
    """Parse dags/ and store the DAGs in the metadata DB, as the dag-processor does (runs need them there)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        assert bag.import_errors == {}, bag.import_errors
        sync_bag_to_db(bag, bundle.name, bundle.version)


def ui_runs(dag_id: str) -> list[Any]:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from lexoffice.ui.send import RUN_ID_PREFIX

    with create_session() as session:
        runs = [r for r in session.query(DagRun).filter(DagRun.dag_id == dag_id).all()
                if r.run_id.startswith(RUN_ID_PREFIX)]
        for run in runs:
            session.expunge(run)
        return runs


def delete_runs() -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        for run in session.query(DagRun).all():
            session.delete(run)
