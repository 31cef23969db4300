"""Deliver one tenant's pending documents (or preview them in a dry run): preflight, the organisation lease,
then the stream's delivery loop. Free of Airflow: the DAG tasks, the CLI and the tests call it directly.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from lexoffice.client.api import LexofficeClient
from lexoffice.client.errors import AuthenticationError, ForbiddenError, PaymentRequiredError, RateLimitedError
from lexoffice.delivery import preflight
from lexoffice.delivery.budget import Budget
from lexoffice.delivery.grace import DEFAULT_CONFIRM_GRACE_SECONDS
from lexoffice.delivery.invoices import InvoiceDelivery
from lexoffice.delivery.result import DeliveryResult, TenantBlocked, blocked_message
from lexoffice.delivery.transactions import TransactionDelivery
from lexoffice.documents import Stream
from lexoffice.source import draft_facts
from lexoffice.state import outbox, tenants
from lexoffice.state.db import write_transaction
from lexoffice.state.locks import OrganisationLease
from lexoffice.state.tenants import Tenant
from lexoffice.state.tokens import TokenStoreUnusable
from lexoffice.streams import spec_of

#: Each stream's delivery loop (delivery/<stream>.py), by stream.
DELIVERIES: dict[Stream, type[InvoiceDelivery] | type[TransactionDelivery]] = {
    Stream.INVOICES: InvoiceDelivery,
    Stream.TRANSACTIONS: TransactionDelivery,
}

log = logging.getLogger(__name__)


def deliver_tenant(*, state_engine: sa.Engine, tenant: Tenant, stream: Stream,
                   client_factory: Callable[[Tenant], LexofficeClient],
                   source_engine: sa.Engine | None = None, doc_keys: Sequence[str] | None = None,
                   dry_run: bool = False, run_id: str | None = None, lease_ttl: float = 120.0,
                   lease_wait: float = 900.0,
                   confirm_grace_seconds: float = DEFAULT_CONFIRM_GRACE_SECONDS,
                   budget_seconds: float | None = None) -> DeliveryResult:
    """Deliver the tenant's pending documents (all of them, or ``doc_keys``), or preview them in a dry run.

    Raises :class:`TenantBlocked` when a preflight check fails; nothing is sent and nothing is lost.
    """
    spec = spec_of(stream)
    field_service = source_engine if spec.field_service else None  # the company's settings and totals
    if field_service is not None:
        warn_about_totals(state_engine=state_engine, source_engine=field_service, tenant=tenant, doc_keys=doc_keys)
    if dry_run:
        return DELIVERIES[spec.stream](state_engine, None, tenant, run_id=run_id).run(doc_keys=doc_keys,
                                                                                      dry_run=True)

    preflight.check_tenant_connected(tenant)
    if field_service is not None:
        company = draft_facts.company_settings(field_service, company_id=spec.company_id(tenant) or "")
        preflight.check_company_settings(tenant, company)
    try:
        client = client_factory(tenant)
    except TokenStoreUnusable as err:
        raise TenantBlocked(f"tenant {tenant.tenant_id}: {err}") from err
    try:
        result = _deliver_with_lease(state_engine=state_engine, tenant=tenant, stream=stream, client=client,
                                     doc_keys=doc_keys, run_id=run_id, lease_ttl=lease_ttl, lease_wait=lease_wait,
                                     confirm_grace_seconds=confirm_grace_seconds, budget=Budget(budget_seconds))
        result.requests = getattr(client, "requests_sent", 0)
        return result
    except (AuthenticationError, ForbiddenError, PaymentRequiredError, RateLimitedError) as err:
        # Wherever it happens (profile, contact lookup, token refresh): a person must act (reconnect, upgrade)
        # or the budget is used up. Nothing was executed by Lexware; the documents wait for the next run.
        raise TenantBlocked(blocked_message(tenant, err)) from err
    except TokenStoreUnusable as err:
        raise TenantBlocked(f"tenant {tenant.tenant_id}: {err}") from err
    finally:
        client.close()


def _deliver_with_lease(*, state_engine: sa.Engine, tenant: Tenant, stream: Stream, client: LexofficeClient,
                        doc_keys: Sequence[str] | None, run_id: str | None, lease_ttl: float,
                        lease_wait: float, confirm_grace_seconds: float, budget: Budget) -> DeliveryResult:
    """Preflight the organisation, then deliver while holding its lease (one sender per organisation)."""
    profile = client.get_profile()
    preflight.check_profile(tenant, profile, refuse_small_business=spec_of(stream).refuses_small_business)
    preflight.check_not_shared(tenant, tenants.tenants_sharing_organisation(
        state_engine, tenant, profile.get("organizationId") or tenant.organization_id))
    holder = f"{run_id or 'manual'}@{socket.gethostname()}:{os.getpid()}"
    lease = OrganisationLease(state_engine, org_key=tenant.organization_id or tenant.tenant_id,
                              holder=holder, ttl_seconds=lease_ttl)
    if not lease.acquire(wait_seconds=lease_wait):
        raise TenantBlocked(
            f"tenant {tenant.tenant_id}: another delivery to Lexware organisation {tenant.organization_id} "
            f"kept running for {lease_wait:.0f} s. Nothing was sent by this run; pending documents are sent by "
            "the next one."
        )
    try:
        # Renewed before each document, and before each HTTP attempt once a third of the ttl has passed: a
        # document whose retries take longer than the ttl keeps the lease, so no second sender can reconcile
        # (and re-send) a row whose request is still on its way.
        client.before_request = lease.renew_if_due
        delivery = DELIVERIES[Stream(stream)](state_engine, client, tenant, run_id=run_id, renew_lease=lease.renew,
                                              confirm_grace_seconds=confirm_grace_seconds, budget=budget)
        return delivery.run(doc_keys=doc_keys)
    finally:
        client.before_request = None
        lease.release()


def requested_doc_keys(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant: Tenant) -> list[str]:
    """Send mode ``requested``: the rows a nightly delivery may touch. Pending drafts whose send is requested in
    the source right now or that a person chose again with ``lexoffice resend``, and every row whose outcome is
    unknown (those are only reconciled, never re-sent blindly, and must be settled whatever the mode)."""
    from lexoffice.state import history

    pending = outbox.rows(state_engine, tenant_id=tenant.tenant_id, stream=Stream.INVOICES,
                          states=[outbox.DocState.PENDING])
    by_id = {row.doc_key.split(":", 1)[-1]: row.doc_key for row in pending}
    wanted = draft_facts.requested_among(source_engine, company_id=tenant.invoice_company_id, ids=list(by_id))
    chosen = history.latest_by_kind(state_engine, tenant_id=tenant.tenant_id, stream=Stream.INVOICES,
                                    kind=history.RESEND)
    wanted |= {i for i, key in by_id.items() if key in chosen}
    unknown = outbox.rows(state_engine, tenant_id=tenant.tenant_id, stream=Stream.INVOICES,
                          states=[outbox.DocState.UNKNOWN, outbox.DocState.SENDING])
    waiting = len(by_id) - len(wanted)
    if waiting:
        log.info("tenant %s: %d valid draft(s) wait for 'An die Buchhaltung senden' and are not sent",
                 tenant.tenant_id, waiting)
    return [by_id[i] for i in sorted(wanted)] + [row.doc_key for row in unknown]


def warn_about_totals(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant: Tenant,
                      doc_keys: Sequence[str] | None, chunk_size: int = 10_000) -> int:
    """A warning on each pending draft whose source shows another gross total than Lexware will (still sent).

    Written to the document's history once per distinct message and logged; returns how many differ. Pending
    rows are read a page at a time, so memory stays flat however many are waiting.
    """
    from lexoffice.lexware_totals import total_difference
    from lexoffice.state import history

    if doc_keys is not None:
        pages: Iterator[list[Any]] = iter([outbox.rows(state_engine, tenant_id=tenant.tenant_id,
                                                       stream=Stream.INVOICES, states=[outbox.DocState.PENDING],
                                                       doc_keys=doc_keys)])
    else:
        rows = outbox.iter_rows(state_engine, tenant_id=tenant.tenant_id, stream=Stream.INVOICES,
                                states=[outbox.DocState.PENDING], chunk_size=chunk_size)
        pages = iter(lambda: list(itertools.islice(rows, chunk_size)), [])
    known: dict[str, Any] | None = None
    differing = 0
    for page in pages:
        by_id = {row.doc_key.split(":", 1)[-1]: row for row in page if row.payload}
        totals = draft_facts.source_totals(source_engine, company_id=tenant.invoice_company_id, ids=list(by_id))
        for draft_id, source_total in totals.items():
            row = by_id[draft_id]
            message = total_difference(row.payload, source_total)
            if message is None:
                continue
            differing += 1
            log.warning("%s: %s", row.source_ref, message)
            if known is None:
                known = history.latest_by_kind(state_engine, tenant_id=tenant.tenant_id, stream=Stream.INVOICES,
                                               kind=history.WARNING)
            if known.get(row.doc_key) != message:
                with write_transaction(state_engine) as conn:
                    history.record(conn, tenant_id=tenant.tenant_id, stream=Stream.INVOICES, doc_key=row.doc_key,
                                   kind=history.WARNING, message=message)
    return differing
