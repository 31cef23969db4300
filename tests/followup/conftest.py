"""A tenant connected to a sandbox organisation, with invoices really created there and recorded as sent
in the state database (SQLite file and PostgreSQL), for the status sync tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pendulum
import pytest
import requests
import sqlalchemy as sa

from lexoffice.client import ApiKeyAuth, LexofficeClient
from lexoffice.client.throttle import SAFE_INTERVAL_SECONDS
from lexoffice.state import outbox, tenants
from lexoffice.state.db import init_db, make_engine
from lexoffice.state.locks import DbRateLimiter
from tests.sandbox.support import invoice_body
from tests.state.helpers import doc
from tests.support.sandbox_server import SandboxServer

TENANT = "nord"


@dataclass
class Office:
    """The tenant's side (state DB) and the accountant's side (sandbox admin routes) of one organisation."""

    sandbox: SandboxServer
    engine: sa.Engine
    org_id: str
    api_key: str
    sent: dict[str, str] = field(default_factory=dict)  # doc_key -> Lexware id

    @property
    def tenant(self) -> Any:
        return tenants.get_tenant(self.engine, TENANT)

    def client(self, tenant: Any = None) -> LexofficeClient:
        return LexofficeClient(self.sandbox.base_url, ApiKeyAuth(self.api_key), allow_insecure_http=True,
                               rate_limiter=DbRateLimiter(self.engine, interval_seconds=SAFE_INTERVAL_SECONDS), rate_key=self.org_id)

    def send(self, *keys: str, sent_at: datetime | None = None, lexware_id: str | None = None) -> None:
        """Stage, claim and create each document in Lexware (a real POST), then mark it sent."""
        outbox.stage(self.engine, tenant_id=TENANT, stream="invoices", docs=[doc(k) for k in keys])
        rows = {r.doc_key: r for r in outbox.rows(self.engine, tenant_id=TENANT, stream="invoices", doc_keys=keys)}
        with self.client() as client:
            for key in keys:
                assert outbox.claim(self.engine, rows[key].id)
                created_id = lexware_id or client.create_invoice(invoice_body(remark=f"lxa:{key}"))["id"]
                outbox.mark_sent(self.engine, rows[key].id, lexware_id=created_id, sent_at=sent_at)
                self.sent[key] = created_id

    def act(self, key: str, action: str, **body: Any) -> None:
        """What the accountant does in Lexware Office (finalize, pay, pay-off, void, delete)."""
        url = f"{self.sandbox.base_url}/_admin/organizations/{self.org_id}/invoices/{self.sent[key]}"
        if action == "delete":
            response = requests.delete(url, timeout=10)
        else:
            response = requests.post(f"{url}/{action}", json=body or None, timeout=10)
        assert response.ok, response.text

    def requests_since(self, mark: int) -> list[tuple[str, str]]:
        log = self.sandbox.admin("GET", f"/organizations/{self.org_id}/requests")
        return [(r["method"], r["path"]) for r in log[mark:]]

    def request_mark(self) -> int:
        return len(self.sandbox.admin("GET", f"/organizations/{self.org_id}/requests"))


@pytest.fixture
def office(sandbox: SandboxServer, db_url: str) -> Iterator[Office]:
    engine = make_engine(db_url)
    init_db(engine)
    created = sandbox.admin("POST", "/organizations", json={"company_name": "Nord GmbH",
                                                            "rate_limit_per_second": None})
    tenants.add_tenant(engine, tenant_id=TENANT, name="Nord GmbH", lexoffice_conn_id="lexoffice_nord",
                       invoice_company_id="c1")
    tenants.record_connect(engine, TENANT, organization_id=created["organization_id"],
                           at=pendulum.now("UTC") - timedelta(days=30))
    try:
        yield Office(sandbox, engine, created["organization_id"], created["api_key"])
    finally:
        engine.dispose()


@pytest.fixture
def long_ago() -> Callable[[], datetime]:
    return lambda: pendulum.now("UTC") - timedelta(hours=2)
