"""Stage one tenant's documents of a window (or a selection): extract, validate, record in the outbox.

Free of Airflow: the DAG tasks, the CLI and the tests call it directly. Idempotent: staging a window again
costs a comparison per document (content hash), never a second send.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from lexoffice.documents import StagedDocument, Stream
from lexoffice.source import draft_facts
from lexoffice.staging import background
from lexoffice.staging.gc_thresholds import bulk_allocation
from lexoffice.staging.invoices import iter_invoice_documents
from lexoffice.staging.transactions import iter_transaction_documents
from lexoffice.staging.windows import Window, day_start
from lexoffice.state import outbox
from lexoffice.state.outbox import StageCounts
from lexoffice.state.tenants import Tenant
from lexoffice.streams import StreamSpec, spec_of

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


def stage_tenant(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant: Tenant, stream: Stream,
                 window: Window | None, source_ids: Sequence[str] | None = None,
                 run_id: str | None = None,
                 on_progress: Callable[[StageCounts], None] | None = None) -> dict[str, Any]:
    """Extract, validate and record the tenant's documents of ``window`` (or the selected source ids).

    Pages of ``SOURCE_PAGE`` documents are built while the previous batch is written (``outbox.stage``);
    ``on_progress`` gets the running counts after every committed batch. One process per tenant and stream:
    Airflow already runs tenants in parallel (see docs/architecture.md for splitting one very large window).
    """
    spec = spec_of(stream)
    progress = StageProgress(f"tenant {tenant.tenant_id} {stream}", on_progress)
    missing: list[str] = []
    if source_ids and spec.field_service:
        # A person may name a draft by its number ('RE-2026-00026') as well as by its source id.
        selection = draft_facts.resolve_selection(source_engine, company_id=spec.company_id(tenant),
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
    if source_ids is not None:
        found = set(doc_keys)
        missing += [i for i in dict.fromkeys(source_ids) if spec.doc_key(i) not in found]
    if missing:
        log.warning("%d selected id(s) were not found for tenant %s: %s", len(missing), tenant.tenant_id,
                    ", ".join(missing))
    log.info("tenant %s %s staged %s: %s", tenant.tenant_id, stream, window or "selection", totals)
    result = {"tenant_id": tenant.tenant_id, "window": str(window) if window else None, "counts": totals,
              "doc_keys": doc_keys if source_ids is not None else None, "missing_ids": missing}
    result.update(source_health(source_engine, tenant, spec, window if not source_ids else None))
    return result


def source_health(source_engine: sa.Engine, tenant: Tenant, spec: StreamSpec,
                  window: Window | None) -> dict[str, Any]:
    """What the report says about the source beside the documents (``lexoffice.source.health``)."""
    from lexoffice.source import health

    company = spec.company_id(tenant)
    out: dict[str, Any] = {"source_problems": health.untyped_timestamps(source_engine, spec.stream, company)}
    if not spec.field_service and window is not None:
        # Only a bank has rows the windows leave out on purpose (pending, other banks' accounts): counted once.
        out["out_of_scope"] = health.out_of_scope_transactions(source_engine, company, window.start, window.end)
    return out


def _invoice_pages(source_engine: sa.Engine, tenant: Tenant, window: Window | None,
                   ids: list[str] | None) -> Iterator[list[StagedDocument]]:
    return iter_invoice_documents(source_engine, company_id=tenant.invoice_company_id,
                                  start=window.start if window else None, end=window.end if window else None,
                                  ids=ids, chunk_size=SOURCE_PAGE)


def _transaction_pages(source_engine: sa.Engine, tenant: Tenant, window: Window | None,
                       ids: list[str] | None) -> Iterator[list[StagedDocument]]:
    # A selection is not clamped by a window: the builder flags transactions completed before export_since.
    return iter_transaction_documents(source_engine, company_id=tenant.bank_company_id,
                                      start=window.start if window else None, end=window.end if window else None,
                                      ids=ids, export_since=day_start(tenant.export_since) if tenant.export_since
                                      else None, chunk_size=SOURCE_PAGE)


#: Each stream's pages of documents (its builder in staging/<stream>.py), by stream.
DOCUMENTS: dict[Stream, Callable[[sa.Engine, Tenant, Window | None, list[str] | None],
                                 Iterator[list[StagedDocument]]]] = {
    Stream.INVOICES: _invoice_pages,
    Stream.TRANSACTIONS: _transaction_pages,
}


def stage_in_this_process(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant: Tenant, stream: Stream,
                          window: Window | None, source_ids: Sequence[str] | None, run_id: str | None,
                          on_batch: Callable[[StageCounts], None] | None = None,
                          on_read: Callable[[int], None] | None = None) -> tuple[StageCounts, list[str]]:
    """Stage ``window`` (or ``source_ids``); the counts and, for a selection, the doc keys found."""
    chunks = DOCUMENTS[Stream(stream)](source_engine, tenant, window, list(source_ids) if source_ids else None)
    doc_keys: list[str] = []

    def documents() -> Iterator[StagedDocument]:
        for chunk in chunks:
            if on_read is not None:
                on_read(len(chunk))
            if source_ids:
                doc_keys.extend(doc.doc_key for doc in chunk)
            yield from chunk

    # On a database server a thread writes each batch while the next one is built (staging/background.py).
    write_all = (functools.partial(background.write_behind, name="outbox-writer")
                 if background.worth_a_thread(state_engine) else outbox.one_after_another)
    with bulk_allocation():
        counts = outbox.stage(state_engine, tenant_id=tenant.tenant_id, stream=stream, docs=documents(),
                              run_id=run_id, batch_size=STAGE_BATCH, on_batch=on_batch, write_all=write_all)
    return counts, doc_keys


def stage_requested(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant: Tenant, window: Window,
                    run_id: str | None = None) -> dict[str, Any]:
    """Send mode ``requested``: stage the drafts whose send was requested, and requested or changed in ``window``.

    Drafts nobody asked to send are not read at all: they are not ready, and a draft in Lexware Office cannot
    be deleted through the API.
    """
    ids = draft_facts.requested_in_window(source_engine, company_id=tenant.invoice_company_id,
                                           start=window.start, end=window.end)
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


def recheck_tenant_reasons(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant: Tenant, stream: Stream,
                           run_id: str | None = None) -> int:
    """Stage again every unsent draft held back only by its company's data (licence 'Rechnungswesen' off,
    another accounting software, company address or tax id missing).

    Those reasons are fixed in the company's settings, not in the draft, so the draft's own change time never
    brings it back into a window: without this, switching the licence on would never send them.
    Returns how many drafts were checked again.
    """
    if not spec_of(stream).field_service:
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
