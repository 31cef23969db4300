"""What the staging tests share: tenants over one generated field-service company and the outbox as stored."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from demo.generate import generate_fieldservice
from lexoffice.documents import Stream
from lexoffice.state import outbox, tenants
from lexoffice.state.db import init_db


def fieldservice_tenants(engine: sa.Engine, tenant_ids: tuple[str, ...], *, seed: int, drafts: int, days: int,
                         export_since: date) -> str:
    """Generate one company's drafts from 2025-01-01 and add ``tenant_ids`` for it; returns the company id."""
    company = generate_fieldservice(engine, seed=seed, companies=1, drafts_per_company=drafts, start=date(2025, 1, 1),
                                    days=days, collect_expected=False)["company_ids"][0]
    init_db(engine)
    for tenant_id in tenant_ids:
        tenants.add_tenant(engine, tenant_id=tenant_id, name=tenant_id, lexoffice_conn_id=f"lexoffice_{tenant_id}",
                           invoice_company_id=company, export_since=export_since)
    return company


def stored(engine: sa.Engine, tenant_id: str, stream: Stream) -> dict[str, tuple]:
    """The tenant's outbox rows by doc key: everything staging writes."""
    return {r.doc_key: (r.state, r.content_hash, r.payload, r.reasons, r.source_ref, r.event_time, r.group_key,
                        r.sort_key, r.related)
            for r in outbox.rows(engine, tenant_id=tenant_id, stream=str(stream))}
