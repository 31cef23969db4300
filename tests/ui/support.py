"""Helpers for the UI tests: DAGs into the metadata DB, source rows, and the runs the page created."""

from __future__ import annotations

from datetime import date
from typing import Any

import pendulum


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


def add_drafts(world: Any, company_id: str, drafts: list[tuple[str, str, str | None]], *, at: Any) -> None:
    """Drafts (id, number, customer id or None) with one valid line each; company and customers as needed."""
    import sqlalchemy as sa

    from lexoffice.source import tables as t

    engine = world.engine(world.fieldservice_url)
    with engine.begin() as conn:
        if conn.execute(sa.select(t.companies.c.id).where(t.companies.c.id == company_id)).first() is None:
            t.insert_rows(conn, t.companies, [{
                "id": company_id, "name": "Acme Schädlingsbekämpfung GmbH", "street": "Hauptstr. 1", "zip": "10115",
                "city": "Berlin", "country_code": "DE", "tax_number": "12/345/67890", "accounting_licensed": True,
                "accounting_software": "lexoffice"}])
        customers = {c for _, _, c in drafts if c}
        existing = {r.id for r in conn.execute(sa.select(t.customers.c.id))}
        t.insert_rows(conn, t.customers, [{
            "id": c, "company_id": company_id, "kind": "company", "company_name": f"Kunde {c} GmbH",
            "street": "Weg 2", "zip": "20095", "city": "Hamburg", "country_code": "DE"} for c in customers - existing])
        t.insert_rows(conn, t.invoice_drafts, [{
            "id": draft_id, "company_id": company_id, "customer_id": customer, "number": number, "origin": "manual",
            "voucher_date": date(2026, 10, 5), "currency": "EUR", "tax_type": "net", "service_date": date(2026, 10, 5),
            "created_at": at} for draft_id, number, customer in drafts])
        t.insert_rows(conn, t.invoice_draft_lines, [{
            "id": f"{draft_id}-1", "draft_id": draft_id, "position": 1, "type": "custom", "name": "Inspektion",
            "quantity": 1, "unit_name": "Stück", "unit_price": 100.0, "price_kind": "net", "tax_rate": 19}
            for draft_id, _, _ in drafts])


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


def now() -> Any:
    return pendulum.now("UTC")
