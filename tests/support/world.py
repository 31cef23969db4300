"""A complete little world for end-to-end DAG tests: sandbox organisations, source and state databases on
disk, Airflow connections in the environment (as a deployment would set them), tenants connected."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pendulum
import pytest
import sqlalchemy as sa

from tests.support.sandbox_server import SandboxServer


@dataclass
class TenantInfo:
    tenant_id: str
    name: str
    org_id: str
    api_key: str
    company_id: str


@dataclass
class World:
    sandbox: SandboxServer
    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    state_url: str
    fieldservice_url: str
    bank_url: str
    tenants: dict[str, TenantInfo] = field(default_factory=dict)
    # How long an unknown outcome waits for Lexware before "not found" counts (connection extra; 15 min in
    # production). Small, so that tests wait seconds; the late-commit cases set it above their commit delay.
    confirm_grace_seconds: float = 1.0

    # -- set-up ------------------------------------------------------------------------------------------------
    def engine(self, url: str) -> sa.Engine:
        from lexoffice.provider.connections import engine_for_url

        return engine_for_url(url)

    @property
    def state(self) -> sa.Engine:
        from lexoffice.state.db import init_db

        engine = self.engine(self.state_url)
        init_db(engine)
        return engine

    def add_tenant(self, tenant_id: str, *, company_id: str, name: str | None = None,
                   export_since: date | None = date(2026, 10, 1), small_business: bool = False,
                   connect: bool = True, streams: tuple[str, ...] = ("invoices", "transactions"),
                   send_mode: str = "all") -> TenantInfo:
        from lexoffice.state import tenants

        created = self.sandbox.admin("POST", "/organizations", json={
            "company_name": name or f"{tenant_id} GmbH", "small_business": small_business})
        info = TenantInfo(tenant_id, name or f"{tenant_id} GmbH", created["organization_id"], created["api_key"],
                          company_id)
        self.set_lexoffice_conn(tenant_id, info.api_key)
        tenants.add_tenant(
            self.state, tenant_id=tenant_id, name=info.name, lexoffice_conn_id=f"lexoffice_{tenant_id}",
            invoice_company_id=company_id if "invoices" in streams else None,
            bank_company_id=company_id if "transactions" in streams else None,
            export_since=export_since, send_mode=send_mode,
        )
        self.tenants[tenant_id] = info
        if connect:
            self.connect(tenant_id)
        return info

    def set_lexoffice_conn(self, tenant_id: str, api_key: str, **extra: Any) -> None:
        conn: dict[str, Any] = {"conn_type": "lexoffice", "host": self.sandbox.base_url, "password": api_key,
                                "extra": {"confirm_grace_seconds": self.confirm_grace_seconds, **extra}}
        self.monkeypatch.setenv(f"AIRFLOW_CONN_LEXOFFICE_{tenant_id.upper()}", json.dumps(conn))

    def connect(self, tenant_id: str, at: Any = None) -> None:
        from lexoffice.state import tenants

        info = self.tenants[tenant_id]
        tenants.record_connect(self.state, tenant_id, organization_id=info.org_id, at=at or pendulum.now("UTC"))

    def disconnect(self, tenant_id: str, at: Any = None) -> None:
        from lexoffice.state import tenants

        tenants.record_disconnect(self.state, tenant_id, at=at or pendulum.now("UTC"))

    # -- running -----------------------------------------------------------------------------------------------
    def run_dag(self, dag_id: str, *, logical_date: Any = None, conf: dict[str, Any] | None = None) -> Any:
        from airflow.dag_processing.dagbag import DagBag

        from tests.conftest import ROOT

        bag = DagBag(dag_folder=str(ROOT / "dags"))
        assert bag.import_errors == {}, bag.import_errors
        dag = bag.dags[dag_id]
        kwargs: dict[str, Any] = {"run_conf": conf or {}}
        if logical_date is not None:
            kwargs["logical_date"] = logical_date
        return dag.test(**kwargs)

    # -- looking -----------------------------------------------------------------------------------------------
    def lexware(self, tenant_id: str, kind: str) -> list[dict[str, Any]]:
        return self.sandbox.admin("GET", f"/organizations/{self.tenants[tenant_id].org_id}/{kind}")

    def outbox(self, tenant_id: str, stream: str) -> list[Any]:
        from lexoffice.state import outbox

        return outbox.rows(self.state, tenant_id=tenant_id, stream=stream)

    def states(self, tenant_id: str, stream: str) -> dict[str, str]:
        return {row.doc_key: str(row.state) for row in self.outbox(tenant_id, stream)}

    def wait_out_grace(self, tenant_id: str, stream: str, *, deadline_seconds: float = 120.0) -> None:
        """Sleep until every ``unknown`` row's attempt, and every contact or account create of unknown outcome,
        is older than the grace period (as a person's next run would be).

        Polls the clock, not a fixed sleep: no wait when nothing is unknown or the attempts are old enough.
        """
        import time

        from lexoffice.state import mappings
        from lexoffice.state.db import utcnow

        attempts = [r.sending_started_at for r in self.outbox(tenant_id, stream)
                    if str(r.state) == "unknown" and r.sending_started_at is not None]
        for table in (mappings.contacts, mappings.accounts, mappings.source_accounts):
            attempts += [m.claimed_at for m in table.list_for_tenant(self.state, tenant_id=tenant_id,
                                                                     states=["creating", "unknown"])]
        if not attempts:
            return
        due = max(attempts).timestamp() + self.confirm_grace_seconds
        stop = time.monotonic() + deadline_seconds
        while utcnow().timestamp() <= due and time.monotonic() < stop:
            time.sleep(0.1)


def task_states(dag_run: Any) -> dict[tuple[str, int], str]:
    return {(ti.task_id, ti.map_index): str(ti.state) for ti in dag_run.get_task_instances()}
