"""Stage one tenant's documents of a window (or a selection): extract, validate, record in the outbox.

Free of Airflow: the DAG tasks, the CLI and the tests call it directly. Idempotent: staging a window again
costs a comparison per document (content hash), never a second send.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from lexoffice.documents import StagedDocument, Stream
from lexoffice.payloads import transaction_doc_key
from lexoffice.source import draft_facts
from lexoffice.staging.gc_thresholds import bulk_allocation
from lexoffice.staging.windows import Window
from lexoffice.state import outbox
from lexoffice.state.outbox import StageCounts

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
        from lexoffice.staging.windows import day_start

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
