"""The e2e ``World`` plus what fault cases need: reruns until done, faults, client timeouts, OAuth tenants.

DAG runs go through real ``dag.test()`` exactly as in tests/e2e, with one difference: task retries are off.
The DAGs retry a failed task after 2 minutes, and ``dag.test()`` would sit idle for that long; the suite
starts the next run itself instead, which is what "rerun until done" means for a retry, too.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import requests

from tests.support.sandbox_server import free_port
from tests.support.world import TenantInfo, World

UNSETTLED = ("pending", "sending", "unknown")
DATABASES = ("state", "fieldservice", "bank")


def dag_for_test(dag_id: str) -> Any:
    """The DAG freshly parsed from dags/, with task retries off (see module docstring).

    Fresh for every run, as a worker parses it: ``dag.test()`` leaves a run's conf in the tasks' params, so a
    DAG object reused across runs would carry one run's "tenant" into the next.
    """
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import ROOT

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}, bag.import_errors
    dag = bag.dags[dag_id]
    for task in dag.tasks:
        task.retries = 0
    return dag


@dataclass
class OAuthInfo:
    client_id: str
    client_secret: str
    callback_port: int


@dataclass
class ReliabilityWorld(World):
    """One test's world: its own sandbox organisations, databases and Airflow connections."""

    oauth: dict[str, OAuthInfo] = field(default_factory=dict)

    # -- running -----------------------------------------------------------------------------------------------
    def run_dag(self, dag_id: str, *, logical_date: Any = None, conf: dict[str, Any] | None = None,
                prepare: Callable[[Any], None] | None = None) -> Any:
        """One real ``dag.test()`` run; ``prepare`` may change the parsed DAG first (e.g. add a callback)."""
        kwargs: dict[str, Any] = {"run_conf": conf or {}}
        if logical_date is not None:
            kwargs["logical_date"] = logical_date
        dag = dag_for_test(dag_id)
        if prepare is not None:
            prepare(dag)
        return dag.test(**kwargs)

    def settled(self, tenant_id: str, stream: str) -> bool:
        """Every staged document is in a final state (sent, invalid or rejected)."""
        rows = self.outbox(tenant_id, stream)
        return bool(rows) and not any(str(r.state) in UNSETTLED for r in rows)

    def run_until_settled(self, dag_id: str, tenant_id: str, stream: str, *, max_runs: int = 3,
                          **run_kwargs: Any) -> list[str]:
        """Run the DAG again and again (at most ``max_runs``) until the tenant's outbox is settled."""
        states: list[str] = []
        for _ in range(max_runs):
            self.wait_out_grace(tenant_id, stream)
            states.append(str(self.run_dag(dag_id, **run_kwargs).state))
            if self.settled(tenant_id, stream):
                break
        return states

    def delivery_totals(self, tenant_id: str, stream: str) -> dict[str, int]:
        """What the deliver tasks recorded over all runs (sent, reconciled_sent, reconciled_pending, ...)."""
        from lexoffice.state import runs

        totals: dict[str, int] = {}
        for record in runs.list_runs(self.state, tenant_id=tenant_id, stream=stream):
            for key, value in record.counts.items():
                totals[key] = totals.get(key, 0) + int(value)
        return totals

    def run_messages(self, tenant_id: str, stream: str) -> list[tuple[str, str]]:
        """(status, message) of every recorded run, newest first."""
        from lexoffice.state import runs

        return [(r.status, r.message) for r in runs.list_runs(self.state, tenant_id=tenant_id, stream=stream)]

    # -- connections -------------------------------------------------------------------------------------------
    def set_client_timeout(self, tenant_id: str, read_seconds: float) -> None:
        """The connection extra ``timeout``: how long the client waits for an answer before 'outcome unknown'."""
        self.set_lexoffice_conn(tenant_id, self.tenants[tenant_id].api_key, timeout=read_seconds)

    # -- sandbox -----------------------------------------------------------------------------------------------
    def inject(self, **spec: Any) -> None:
        """Add one sandbox fault (see docs/sandbox.md; ``method``/``path`` default to POST /v1/invoices)."""
        self.sandbox.admin("POST", "/faults", json=spec)

    def requests_log(self, tenant_id: str) -> list[dict[str, Any]]:
        return self.sandbox.admin("GET", f"/organizations/{self.tenants[tenant_id].org_id}/requests")

    def fault_hits(self, tenant_id: str) -> list[dict[str, Any]]:
        return [r for r in self.requests_log(tenant_id) if r.get("fault")]

    # -- OAuth ---------------------------------------------------------------------------------------------------
    def add_oauth_tenant(self, tenant_id: str, *, company_id: str, client_secret: str,
                         streams: tuple[str, ...] = ("invoices",), export_since: date | None = date(2026, 10, 1),
                         access_token_ttl_seconds: int = 3600) -> TenantInfo:
        """A tenant connected the way a person connects it: `lexoffice tenant connect` with the OAuth consent."""
        from lexoffice.state import tenants

        org = self.sandbox.admin("POST", "/organizations", json={"company_name": f"{tenant_id} GmbH"})
        info = TenantInfo(tenant_id, f"{tenant_id} GmbH", org["organization_id"], "", company_id)
        self.tenants[tenant_id] = info
        client_id = f"partner-app-{tenant_id}"
        self.oauth[tenant_id] = OAuthInfo(client_id, client_secret, free_port())
        self.sandbox.admin("POST", "/oauth-clients", json={
            "client_id": client_id, "client_secret": client_secret,
            "redirect_uris": [self._redirect_uri(tenant_id)], "access_token_ttl_seconds": access_token_ttl_seconds})
        self.monkeypatch.setenv(f"AIRFLOW_CONN_LEXOFFICE_{tenant_id.upper()}", json.dumps({
            "conn_type": "lexoffice", "host": self.sandbox.base_url, "login": client_id, "password": client_secret,
            "extra": {"confirm_grace_seconds": self.confirm_grace_seconds}}))
        tenants.add_tenant(
            self.state, tenant_id=tenant_id, name=info.name, lexoffice_conn_id=f"lexoffice_{tenant_id}",
            invoice_company_id=company_id if "invoices" in streams else None,
            bank_company_id=company_id if "transactions" in streams else None,
            export_since=export_since, auth_mode="oauth", send_mode="all",  # the nightly batch, every valid draft
        )
        self.oauth_consent(tenant_id)
        self.connect(tenant_id)
        return info

    def _redirect_uri(self, tenant_id: str) -> str:
        return f"http://127.0.0.1:{self.oauth[tenant_id].callback_port}/callback"

    def oauth_consent(self, tenant_id: str) -> None:
        """Run the CLI's OAuth connect: consent page, "Zugriff erlauben", callback with state, token exchange."""
        from lexoffice import cli
        from lexoffice.state import tenants

        tenant = tenants.get_tenant(self.state, tenant_id)
        org_id = self.tenants[tenant_id].org_id
        errors: list[BaseException] = []

        def person_clicks_allow(authorize_url: str) -> None:
            try:
                page = requests.get(authorize_url, timeout=10)
                page.raise_for_status()
                form = {html.unescape(k): html.unescape(v) for k, v in
                        re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)}
                form.update(organization_id=org_id, decision="allow")
                granted = requests.post(f"{self.sandbox.base_url}/oauth2/authorize", data=form, timeout=10,
                                        allow_redirects=False)
                assert granted.status_code == 302, granted.text
                requests.get(granted.headers["Location"], timeout=10).raise_for_status()  # the CLI's callback
            except BaseException as exc:  # reported by the caller; a thread cannot raise into the test
                errors.append(exc)

        def open_in_browser(url: str) -> None:
            threading.Thread(target=person_clicks_allow, args=(url,), daemon=True).start()

        try:
            cli.oauth_connect(self.state, tenant, port=self.oauth[tenant_id].callback_port, open_browser=False,
                              timeout=20, on_authorize_url=open_in_browser)
        except SystemExit as stopped:  # the CLI's way of saying that no consent arrived
            raise AssertionError(f"OAuth connect failed: {stopped}; consent errors: {errors}") from None
        assert not errors, errors

    def stored_token(self, tenant_id: str) -> Any:
        from lexoffice.state.tokens import DbTokenStore

        return DbTokenStore(self.state).load(f"lexoffice_{tenant_id}")


def conn_json(url: str) -> str:
    """An Airflow connection (as JSON for an AIRFLOW_CONN_* variable) for a SQLAlchemy URL."""
    if url.startswith("sqlite:///"):
        return json.dumps({"conn_type": "sqlite", "host": url[len("sqlite:///"):]})
    return json.dumps({"conn_type": "postgres", "extra": {"sqlalchemy_url": url}})


def build_world(sandbox: Any, tmp: Path, monkeypatch: Any, **urls: str) -> ReliabilityWorld:
    """Databases (given URLs, else SQLite files in ``tmp``) wired up as Airflow connections, source schemas made."""
    from demo.source_db import create_schema

    chosen = {name: urls.get(name) or f"sqlite:///{tmp / (name + '.db')}" for name in DATABASES}
    for name, url in chosen.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_LEXOFFICE_{name.upper()}", conn_json(url))
    world = ReliabilityWorld(sandbox=sandbox, tmp=tmp, monkeypatch=monkeypatch, state_url=chosen["state"],
                             fieldservice_url=chosen["fieldservice"], bank_url=chosen["bank"])
    create_schema(world.engine(world.fieldservice_url), "fieldservice")
    create_schema(world.engine(world.bank_url), "bank")
    return world
