"""The three steps of a run for one tenant (stage, deliver, report), free of Airflow.

The DAGs call these through thin tasks; tests and the CLI call them directly. Each step is idempotent:
re-running it, in any run or backfill, sends nothing twice and loses nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lexoffice.client.errors import AuthenticationError, ForbiddenError, PaymentRequiredError, RateLimitedError
from lexoffice.delivery import preflight
from lexoffice.delivery.grace import DEFAULT_CONFIRM_GRACE_SECONDS
from lexoffice.delivery.invoices import InvoiceDelivery, _blocked_message
from lexoffice.delivery.result import DeliveryResult, TenantBlocked
from lexoffice.delivery.transactions import TransactionDelivery
from lexoffice.documents import StagedDocument, Stream
from lexoffice.gc_thresholds import bulk_allocation
from lexoffice.state import outbox, tenants
from lexoffice.state.locks import OrganisationLease
from lexoffice.state.outbox import StageCounts
from lexoffice.windows import Window

log = logging.getLogger(__name__)

#: Documents per source page (validated and built at once) and per outbox transaction.
SOURCE_PAGE = 10_000
STAGE_BATCH = 5_000
#: How often a long stage logs its progress.
PROGRESS_EVERY_SECONDS = 10.0


class StageProgress:
    """Logs documents staged so far and the rate, at most every ``every`` seconds (the total is unknown
    until the source is read to its end); ``on_progress`` sees every committed batch."""

    def __init__(self, label: str, on_progress: Callable[[StageCounts], None] | None = None,
                 every: float | None = None) -> None:
        self.label, self.on_progress = label, on_progress
        self.every = PROGRESS_EVERY_SECONDS if every is None else every
        self.started = self.last_log = time.monotonic()
        self.documents_read = 0

    def read(self, n: int) -> None:
        self.documents_read += n

    def staged(self, counts: StageCounts) -> None:
        if self.on_progress is not None:
            self.on_progress(counts)
        now = time.monotonic()
        if now - self.last_log >= self.every:
            self.last_log = now
            rate = counts.total / max(now - self.started, 1e-9)
            read = f" ({self.documents_read} read)" if self.documents_read else ""  # unknown across processes
            log.info("%s: %d documents staged%s, %.0f docs/s", self.label, counts.total, read, rate)


def stage_tenant(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant: Any, stream: Stream,
                 window: Window | None, source_ids: Sequence[str] | None = None,
                 run_id: str | None = None,
                 on_progress: Callable[[StageCounts], None] | None = None,
                 processes: int | None = None) -> dict[str, Any]:
    """Extract, validate and record the tenant's documents of ``window`` (or the selected source ids).

    Pages of ``SOURCE_PAGE`` documents are built while the previous batch is written (``outbox.stage``);
    ``on_progress`` gets the running counts after every committed batch. A window is staged by ``processes``
    processes (default ``LEXOFFICE_STAGE_PROCESSES``) when both databases are PostgreSQL
    (``lexoffice.parallel_stage``); otherwise, and for selections, in this process.
    """
    from lexoffice import parallel_stage

    processes = parallel_stage.configured_processes() if processes is None else processes
    progress = StageProgress(f"tenant {tenant.tenant_id} {stream}", on_progress)
    doc_keys: list[str] = []
    parallel = processes > 1 and window is not None and not source_ids
    if parallel and parallel_stage.supported(state_engine, source_engine):
        counts = parallel_stage.stage_window(
            state_engine=state_engine, source_engine=source_engine, tenant_id=tenant.tenant_id, stream=str(stream),
            window=window, run_id=run_id, processes=processes, on_batch=progress.staged)
    else:
        counts, doc_keys = stage_in_this_process(
            state_engine=state_engine, source_engine=source_engine, tenant=tenant, stream=stream, window=window,
            source_ids=source_ids, run_id=run_id, on_batch=progress.staged, on_read=progress.read)
    totals = {key: int(value) for key, value in asdict(counts).items()}
    if source_ids:
        missing = len(set(source_ids)) - len(doc_keys)
        if missing > 0:
            log.warning("%d selected id(s) were not found for tenant %s", missing, tenant.tenant_id)
    log.info("tenant %s %s staged %s: %s", tenant.tenant_id, stream, window or "selection", totals)
    return {"tenant_id": tenant.tenant_id, "window": str(window) if window else None, "counts": totals,
            "doc_keys": doc_keys if source_ids else None}


def stage_in_this_process(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant: Any, stream: Stream,
                          window: Window | None, source_ids: Sequence[str] | None, run_id: str | None,
                          on_batch: Callable[[StageCounts], None] | None = None,
                          on_read: Callable[[int], None] | None = None) -> tuple[StageCounts, list[str]]:
    """Stage ``window`` (or ``source_ids``) here; the counts and, for a selection, the doc keys found."""
    if stream == Stream.INVOICES:
        from lexoffice.source.invoices import iter_invoice_documents

        chunks = iter_invoice_documents(
            source_engine, company_id=tenant.invoice_company_id,
            start=window.start if window else None, end=window.end if window else None,
            ids=list(source_ids) if source_ids else None, chunk_size=SOURCE_PAGE,
        )
    else:
        from lexoffice.source.transactions import iter_transaction_documents
        from lexoffice.windows import day_start

        chunks = iter_transaction_documents(
            source_engine, company_id=tenant.bank_company_id,
            start=window.start if window else None, end=window.end if window else None,
            ids=list(source_ids) if source_ids else None,
            export_since=day_start(tenant.export_since) if tenant.export_since else None,
            chunk_size=SOURCE_PAGE,
        )
    doc_keys: list[str] = []

    def documents() -> Iterator[StagedDocument]:
        for chunk in chunks:
            if on_read is not None:
                on_read(len(chunk))
            if source_ids:
                doc_keys.extend(doc.doc_key for doc in chunk)
            yield from chunk

    with bulk_allocation():
        counts = outbox.stage(state_engine, tenant_id=tenant.tenant_id, stream=stream, docs=documents(),
                              run_id=run_id, batch_size=STAGE_BATCH, on_batch=on_batch)
    return counts, doc_keys


def company_settings(source_engine: sa.Engine, company_id: str) -> dict[str, Any] | None:
    """The licence and accounting-software settings of a field-service company (for preflight)."""
    with source_engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT id, name, accounting_licensed, accounting_software FROM companies WHERE id = :id"),
            {"id": company_id},
        ).mappings().first()
    return dict(row) if row else None


def deliver_tenant(*, state_engine: sa.Engine, tenant: Any, stream: Stream, client_factory: Callable[[Any], Any],
                   source_engine: sa.Engine | None = None, doc_keys: Sequence[str] | None = None,
                   dry_run: bool = False, run_id: str | None = None, lease_ttl: float = 120.0,
                   lease_wait: float = 900.0,
                   confirm_grace_seconds: float = DEFAULT_CONFIRM_GRACE_SECONDS) -> DeliveryResult:
    """Deliver the tenant's pending documents (all of them, or ``doc_keys``), or preview them in a dry run.

    Raises :class:`TenantBlocked` when a preflight check fails; nothing is sent and nothing is lost.
    """
    if dry_run:
        delivery_cls = InvoiceDelivery if stream == Stream.INVOICES else TransactionDelivery
        return delivery_cls(state_engine, None, tenant, run_id=run_id).run(doc_keys=doc_keys, dry_run=True)

    preflight.check_tenant_connected(tenant)
    if stream == Stream.INVOICES and source_engine is not None:
        preflight.check_company_settings(tenant, company_settings(source_engine, tenant.invoice_company_id))
    client = client_factory(tenant)
    try:
        return _deliver_with_lease(state_engine=state_engine, tenant=tenant, stream=stream, client=client,
                                   doc_keys=doc_keys, run_id=run_id, lease_ttl=lease_ttl, lease_wait=lease_wait,
                                   confirm_grace_seconds=confirm_grace_seconds)
    except (AuthenticationError, ForbiddenError, PaymentRequiredError, RateLimitedError) as err:
        # Wherever it happens (profile, contact lookup, token refresh): a person must act (reconnect, upgrade)
        # or the budget is used up. Nothing was executed by Lexware; the documents wait for the next run.
        raise TenantBlocked(_blocked_message(tenant, err)) from err
    finally:
        client.close()


def _deliver_with_lease(*, state_engine: sa.Engine, tenant: Any, stream: Stream, client: Any,
                        doc_keys: Sequence[str] | None, run_id: str | None, lease_ttl: float,
                        lease_wait: float, confirm_grace_seconds: float) -> DeliveryResult:
    """Preflight the organisation, then deliver while holding its lease (one sender per organisation)."""
    profile = client.get_profile()
    preflight.check_profile(tenant, profile, refuse_small_business=stream == Stream.INVOICES)
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
        delivery_cls = InvoiceDelivery if stream == Stream.INVOICES else TransactionDelivery
        delivery = delivery_cls(state_engine, client, tenant, run_id=run_id, renew_lease=lease.renew,
                                confirm_grace_seconds=confirm_grace_seconds)
        return delivery.run(doc_keys=doc_keys)
    finally:
        client.before_request = None
        lease.release()


def now_utc() -> datetime:
    import pendulum

    return pendulum.now("UTC")


__all__ = ["DeliveryResult", "TenantBlocked", "company_settings", "deliver_tenant", "stage_tenant"]
