"""Prepare delivery scenarios: source drafts, a staged outbox, a sandbox organisation per tenant, contacts.

Every scenario is one tenant with its own Lexware organisation (its own 2 requests/s budget), so all
scenarios can run at the same time without disturbing each other's rate. Set-up traffic (creating the
contacts that "already exist") runs with the organisation's limit switched off and before the measured
window; then the limit is switched back to the sandbox's default bucket (2/s, no burst) and the scenario's
simulated round trip is set, before any worker starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from enum import StrEnum
from typing import Any

import pendulum
import sqlalchemy as sa

from bench.infra import Infra
from bench.scales import LEXWARE_RATE

SOURCE_START = date(2025, 3, 1)
SOURCE_DAYS = 28
STAGE_WINDOW = (datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 1, tzinfo=timezone.utc))


class Limiter(StrEnum):
    DB = "db"                        # lexoffice.state.locks.DbRateLimiter, as connections.client_factory builds it
    FIXED_SLEEP = "fixed_sleep"      # bench.pacing.FixedSleep, the peers' baseline


class Contacts(StrEnum):
    MAPPED = "mapped"     # in Lexware and already in our contact map
    ADOPTED = "adopted"   # in Lexware, not in our map: found by a name search and adopted
    NEW = "new"           # not in Lexware: created once each


@dataclass(frozen=True)
class Scenario:
    key: str
    docs: int
    limiter: Limiter
    contacts: Contacts
    round_trip: float = 0.0  # seconds the sandbox holds every answer back (a simulated network)


@dataclass
class PreparedTenant:
    scenario: Scenario
    tenant_id: str
    org_id: str
    company_id: str
    source_url: str
    docs: int
    customers: int
    api_key: str = field(repr=False)


def _generate_sources(infra: Infra, scenarios: Sequence[Scenario]) -> dict[int, tuple[str, list[str]]]:
    """One field-service database per distinct draft count; one company per scenario of that count."""
    from demo.generate import generate_fieldservice

    by_docs: dict[int, int] = {}
    for s in scenarios:
        by_docs[s.docs] = by_docs.get(s.docs, 0) + 1
    sources = {}
    for docs, companies in sorted(by_docs.items()):
        url = infra.database(f"delivery_source_{docs}")
        engine = sa.create_engine(url)
        try:
            generated = generate_fieldservice(engine, seed=7, companies=companies, drafts_per_company=docs,
                                              start=SOURCE_START, days=SOURCE_DAYS, broken_fraction=0.0,
                                              collect_expected=False)
        finally:
            engine.dispose()
        sources[docs] = (url, list(generated["company_ids"]))
    return sources


def _client(base_url: str, api_key: str) -> Any:
    from lexoffice.client import ApiKeyAuth, LexofficeClient

    return LexofficeClient(base_url, ApiKeyAuth(api_key), allow_insecure_http=True)


def _create_contacts(base_url: str, api_key: str, bodies: list[dict[str, Any]]) -> list[str]:
    with _client(base_url, api_key) as client:
        return [str(client.create_contact(body)["id"]) for body in bodies]


def prepare(infra: Infra, state_url: str, scenarios: Sequence[Scenario]) -> list[PreparedTenant]:
    """Generate, stage and set up every scenario; returns them ready for ``deliver_worker``."""
    from lexoffice.staging import stage
    from lexoffice.documents import Stream
    from lexoffice.state import mappings, outbox, tenants
    from lexoffice.state.db import init_db, make_engine
    from lexoffice.staging.windows import Window

    state = make_engine(state_url)
    init_db(state)
    sources = _generate_sources(infra, scenarios)
    next_company: dict[int, int] = {}
    prepared: list[PreparedTenant] = []
    contact_jobs: list[tuple[PreparedTenant, list[tuple[str, dict[str, Any]]]]] = []
    for scenario in scenarios:
        url, company_ids = sources[scenario.docs]
        company_id = company_ids[next_company.get(scenario.docs, 0)]
        next_company[scenario.docs] = next_company.get(scenario.docs, 0) + 1
        org = infra.sandbox.admin("POST", "/organizations", json={
            "company_name": f"Bench {scenario.key} GmbH", "rate_limit_per_second": None})
        tenant_id = f"bench_{scenario.key}"
        tenants.add_tenant(state, tenant_id=tenant_id, name=f"Bench {scenario.key}",
                           lexoffice_conn_id=f"lexoffice_{tenant_id}", invoice_company_id=company_id,
                           export_since=SOURCE_START)
        tenant = tenants.record_connect(state, tenant_id, organization_id=org["organization_id"],
                                        at=pendulum.now("UTC"))
        source = make_engine(url)
        try:
            stage.stage_tenant(state_engine=state, source_engine=source, tenant=tenant, stream=Stream.INVOICES,
                                  window=Window(*STAGE_WINDOW), run_id="bench-setup")
        finally:
            source.dispose()
        pending = outbox.rows(state, tenant_id=tenant_id, stream=Stream.INVOICES, states=[outbox.DocState.PENDING])
        if len(pending) != scenario.docs:
            raise RuntimeError(f"scenario {scenario.key}: {len(pending)} drafts pending after staging, "
                               f"expected {scenario.docs} (did validation reject generated drafts?)")
        customers = {row.related["customer_key"]: row.related["contact"] for row in pending}
        entry = PreparedTenant(scenario=scenario, tenant_id=tenant_id, org_id=org["organization_id"],
                               company_id=company_id, source_url=url, docs=len(pending), customers=len(customers),
                               api_key=org["api_key"])
        prepared.append(entry)
        if scenario.contacts != Contacts.NEW:
            contact_jobs.append((entry, sorted(customers.items())))

    base_url = infra.sandbox.base_url
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {entry.tenant_id: pool.submit(_create_contacts, base_url, entry.api_key, [b for _, b in items])
                   for entry, items in contact_jobs}
        created = {tenant_id: future.result() for tenant_id, future in futures.items()}
    for entry, items in contact_jobs:
        if entry.scenario.contacts == Contacts.MAPPED:
            for (customer_key, _), lexware_id in zip(items, created[entry.tenant_id], strict=True):
                mappings.adopt_contact(state, tenant_id=entry.tenant_id, customer_key=customer_key,
                                       lexware_id=lexware_id)
    for entry in prepared:
        infra.sandbox.admin("PATCH", f"/organizations/{entry.org_id}", json={
            "rate_limit_per_second": LEXWARE_RATE, "rate_limit_burst": 1, "round_trip_seconds": entry.scenario.round_trip})
    state.dispose()
    return prepared
