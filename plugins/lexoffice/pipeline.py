"""The three steps of a run for one tenant (stage, deliver, report), free of Airflow.

The DAGs call these through thin tasks; tests and the CLI call them directly. Each step is idempotent:
re-running it, in any run or backfill, sends nothing twice and loses nothing.
"""

from __future__ import annotations

import itertools
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
from lexoffice.delivery.budget import Budget
from lexoffice.delivery.grace import DEFAULT_CONFIRM_GRACE_SECONDS
from lexoffice.delivery.invoices import InvoiceDelivery, _blocked_message
from lexoffice.delivery.result import DeliveryResult, TenantBlocked
from lexoffice.delivery.transactions import TransactionDelivery
from lexoffice.documents import StagedDocument, Stream
from lexoffice.payloads import transaction_doc_key
from lexoffice.gc_thresholds import bulk_allocation
from lexoffice.source import draft_facts
from lexoffice.state import outbox, tenants
from lexoffice.state.db import write_transaction
from lexoffice.state.locks import OrganisationLease
from lexoffice.state.outbox import StageCounts
from lexoffice.state.tokens import TokenStoreUnusable
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
            read = f" ({self.documents_read} read)" if self.documents_read else ""
            log.info("%s: %d documents staged%s, %.0f docs/s", self.label, counts.total, read, rate)


def stage_tenant(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant: Any, stream: Stream,
                 window: Window | None, source_ids: Sequence[str] | None = None,
                 run_id: str | None = None,
                 on_progress: Callable[[StageCounts], None] | None = None) -> dict[str, Any]:
    """Extract, validate and record the tenant's documents of ``window`` (or the selected source ids).

    Pages of ``SOURCE_PAGE`` documents are built while the previous batch is written (``outbox.stage``);
    ``on_progress`` gets the running counts after every committed batch. One process per tenant and stream:
    Airflow already runs tenants in parallel (see docs/architecture.md for splitting one very large window).
    """
    progress = StageProgress(f"tenant {tenant.tenant_id} {stream}", on_progress)
    missing: list[str] = []
    if source_ids and stream == Stream.INVOICES:
        # A person may name a draft by its number ('RE-2026-00026') as well as by its source id.
        selection = draft_facts.resolve_selection(source_engine, company_id=tenant.invoice_company_id,
                                                  tokens=source_ids)
        source_ids, missing = selection.ids, selection.missing
        if not source_ids:
            log.warning("none of the selected drafts exists for tenant %s: %s", tenant.tenant_id, ", ".join(missing))
            return {"tenant_id": tenant.tenant_id, "window": None, "counts": asdict(StageCounts()), "doc_keys": [],
                    "missing_ids": missing}
    counts, doc_keys = stage_in_this_process(
        state_engine=state_engine, source_engine=source_engine, tenant=tenant, stream=stream, window=window,
        source_ids=source_ids, run_id=run_id, on_batch=progress.staged, on_read=progress.read)
    totals = {key: int(value) for key, value in asdict(counts).items()}
    if source_ids is not None and stream == Stream.TRANSACTIONS:
        found = set(doc_keys)
        missing = [i for i in dict.fromkeys(source_ids) if transaction_doc_key(i) not in found]
    if missing:
        log.warning("%d selected id(s) were not found for tenant %s: %s", len(missing), tenant.tenant_id,
                    ", ".join(missing))
    log.info("tenant %s %s staged %s: %s", tenant.tenant_id, stream, window or "selection", totals)
    result = {"tenant_id": tenant.tenant_id, "window": str(window) if window else None, "counts": totals,
              "doc_keys": doc_keys if source_ids is not None else None, "missing_ids": missing}
    result.update(source_health(source_engine, tenant, stream, window if not source_ids else None))
    return result


def source_health(source_engine: sa.Engine, tenant: Any, stream: Stream, window: Window | None) -> dict[str, Any]:
    """What the report says about the source beside the documents (``lexoffice.source.health``)."""
    from lexoffice.source import health

    company = tenant.invoice_company_id if stream == Stream.INVOICES else tenant.bank_company_id
    out: dict[str, Any] = {"source_problems": health.untyped_timestamps(source_engine, stream, company)}
    if stream == Stream.TRANSACTIONS and window is not None:
        out["out_of_scope"] = health.out_of_scope_transactions(source_engine, company, window.start, window.end)
    return out


def stage_in_this_process(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant: Any, stream: Stream,
                          window: Window | None, source_ids: Sequence[str] | None, run_id: str | None,
                          on_batch: Callable[[StageCounts], None] | None = None,
                          on_read: Callable[[int], None] | None = None) -> tuple[StageCounts, list[str]]:
    """Stage ``window`` (or ``source_ids``); the counts and, for a selection, the doc keys found."""
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
                   confirm_grace_seconds: float = DEFAULT_CONFIRM_GRACE_SECONDS,
                   budget_seconds: float | None = None) -> DeliveryResult:
    """Deliver the tenant's pending documents (all of them, or ``doc_keys``), or preview them in a dry run.

    Raises :class:`TenantBlocked` when a preflight check fails; nothing is sent and nothing is lost.
    """
    if stream == Stream.INVOICES and source_engine is not None:
        warn_about_totals(state_engine=state_engine, source_engine=source_engine, tenant=tenant, doc_keys=doc_keys)
    if dry_run:
        delivery_cls = InvoiceDelivery if stream == Stream.INVOICES else TransactionDelivery
        return delivery_cls(state_engine, None, tenant, run_id=run_id).run(doc_keys=doc_keys, dry_run=True)

    preflight.check_tenant_connected(tenant)
    if stream == Stream.INVOICES and source_engine is not None:
        preflight.check_company_settings(tenant, company_settings(source_engine, tenant.invoice_company_id))
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
        raise TenantBlocked(_blocked_message(tenant, err)) from err
    except TokenStoreUnusable as err:
        raise TenantBlocked(f"tenant {tenant.tenant_id}: {err}") from err
    finally:
        client.close()


def _deliver_with_lease(*, state_engine: sa.Engine, tenant: Any, stream: Stream, client: Any,
                        doc_keys: Sequence[str] | None, run_id: str | None, lease_ttl: float,
                        lease_wait: float, confirm_grace_seconds: float, budget: Budget) -> DeliveryResult:
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
                                confirm_grace_seconds=confirm_grace_seconds, budget=budget)
        return delivery.run(doc_keys=doc_keys)
    finally:
        client.before_request = None
        lease.release()


def stage_requested(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant: Any, window: Window,
                    run_id: str | None = None) -> dict[str, Any]:
    """Send mode ``requested``: stage the drafts whose send was requested, and requested or changed in ``window``.

    Drafts nobody asked to send are not read at all: they are not ready, and a draft in Lexware Office cannot
    be deleted through the API.
    """
    ids = draft_facts.requested_in_window(source_engine, company_id=tenant.invoice_company_id, window=window)
    log.info("tenant %s: %d draft(s) with 'An die Buchhaltung senden' in %s", tenant.tenant_id, len(ids), window)
    if ids:
        counts, _ = stage_in_this_process(state_engine=state_engine, source_engine=source_engine, tenant=tenant,
                                          stream=Stream.INVOICES, window=None, source_ids=ids, run_id=run_id)
    else:
        counts = StageCounts()
    return {"tenant_id": tenant.tenant_id, "window": str(window), "counts": asdict(counts) | {"requested": len(ids)},
            "doc_keys": None}


def requested_doc_keys(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant: Any) -> list[str]:
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


#: Reasons whose field starts with this are about the tenant's own company (validation/reasons.py), not the draft.
TENANT_LEVEL_FIELD_PREFIX = "company."


def recheck_tenant_reasons(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant: Any, stream: Stream,
                           run_id: str | None = None) -> int:
    """Stage again every unsent draft held back only by its company's data (licence 'Rechnungswesen' off,
    another accounting software, company address or tax id missing).

    Those reasons are fixed in the company's settings, not in the draft, so the draft's own change time never
    brings it back into a window: without this, switching the licence on would never send them.
    Returns how many drafts were checked again.
    """
    if stream != Stream.INVOICES:
        return 0
    held = [row.doc_key.split(":", 1)[-1]
            for row in outbox.iter_rows(state_engine, tenant_id=tenant.tenant_id, stream=stream,
                                        states=[outbox.DocState.INVALID])
            if any(str(reason.get("field", "")).startswith(TENANT_LEVEL_FIELD_PREFIX) for reason in row.reasons)]
    if held:
        counts, _ = stage_in_this_process(state_engine=state_engine, source_engine=source_engine, tenant=tenant,
                                          stream=stream, window=None, source_ids=held, run_id=run_id)
        log.info("tenant %s: %d draft(s) held back by company settings checked again: %s", tenant.tenant_id,
                 len(held), counts.as_dict())
    return len(held)


def warn_about_totals(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant: Any,
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


def now_utc() -> datetime:
    import pendulum

    return pendulum.now("UTC")


__all__ = ["DeliveryResult", "TenantBlocked", "company_settings", "deliver_tenant", "stage_tenant"]
