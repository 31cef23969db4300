"""Invoice drafts from the field-service source, as ``StagedDocument`` lists one page at a time.

A page is at most ``chunk_size`` drafts (with their company, customer and lines); it is validated
(vectorised) and turned into payloads before the next page is read, so memory depends on the page size,
not on the source.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from lexoffice import payloads
from lexoffice.documents import StagedDocument, content_hash
from lexoffice.source import frames
from lexoffice.source.extract import batches, check_page_size, check_window, id_pages, query, window_pages
from lexoffice.source.values import jsonable, sort_key
from lexoffice.validation.invoices import validate_invoices

_DRAFT_STAMPS = ("created_at", "updated_at", "event_at")

#: Everything about a draft that influences its payload or its validation. Timestamps are left out on
#: purpose: touching a row without changing it must not look like a change. Dates are hashed as the
#: source's text, so a correction of an unparsable date counts.
HASHED_DRAFT_COLUMNS = tuple(
    f"{c}_text" if c in frames.DRAFTS.dates else c for c in frames.DRAFTS.columns if c not in _DRAFT_STAMPS
)
HASHED_LINE_COLUMNS = frames.LINES.columns

_WINDOW = "invoice_drafts_window.sql"
_BY_IDS = "invoice_drafts_by_ids.sql"
_LINES = "invoice_draft_lines.sql"


def iter_invoice_documents(
    engine: sa.Engine,
    *,
    company_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
    ids: Sequence[str] | None = None,
    chunk_size: int = 2000,
    on_date: date | None = None,
) -> Iterator[list[StagedDocument]]:
    """Drafts of ``company_id`` changed in ``[start, end)`` (by ``COALESCE(updated_at, created_at)``), or
    exactly the drafts in ``ids`` when given (any time; ids of other companies are ignored).

    Yields lists of at most ``chunk_size`` documents, valid or not, each with all its reasons.
    ``on_date`` is passed to validation (see ``validate_invoices``).
    """
    for drafts, lines in iter_invoice_frames(engine, company_id=company_id, start=start, end=end, ids=ids,
                                             chunk_size=chunk_size):
        yield build_invoice_documents(drafts, lines, on_date=on_date)


def iter_invoice_frames(
    engine: sa.Engine,
    *,
    company_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
    ids: Sequence[str] | None = None,
    chunk_size: int = 2000,
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """The pages behind ``iter_invoice_documents`` as prepared (drafts, lines) frames; the benchmark
    times extraction and validation separately with it."""
    check_page_size(chunk_size)

    lines_query = query(_LINES, expanding=("draft_ids",))

    def enrich(conn: Connection, rows: list[RowMapping]) -> tuple[list[RowMapping], list[RowMapping]]:
        lines: list[RowMapping] = []
        for draft_ids in batches([r["id"] for r in rows]):
            lines += conn.execute(lines_query, {"draft_ids": list(draft_ids)}).mappings()
        return rows, lines

    if ids is not None:
        statement = query(_BY_IDS, expanding=("ids",), result_timestamps=_DRAFT_STAMPS)
        pages = id_pages(engine, statement, {"company_id": company_id}, ids=ids, page_size=chunk_size,
                         enrich=enrich)
    else:
        start, end = check_window(start, end)
        statement = query(_WINDOW, datetimes=("start", "end", "after_event_at"), result_timestamps=_DRAFT_STAMPS)
        pages = window_pages(engine, statement, {"company_id": company_id, "start": start, "end": end},
                             start=start, cursor_column="event_at", after_param="after_event_at",
                             page_size=chunk_size, enrich=enrich)
    for draft_rows, line_rows in pages:
        yield frames.from_rows(frames.DRAFTS, draft_rows), frames.from_rows(frames.LINES, line_rows)


def build_invoice_documents(drafts: pd.DataFrame, lines: pd.DataFrame, *,
                            on_date: date | None = None) -> list[StagedDocument]:
    """Validate a page of drafts and build one ``StagedDocument`` per draft (payload only when valid)."""
    drafts = frames.prepare_drafts(drafts)
    lines = frames.prepare_lines(lines)
    verdicts = validate_invoices(drafts, lines, on_date=on_date)
    lines_by_draft = _group_lines(lines)
    documents = []
    for draft, reasons in zip(drafts.to_dict("records"), verdicts["reasons"], strict=True):
        draft_lines = lines_by_draft.get(draft["id"], [])
        documents.append(
            StagedDocument(
                doc_key=payloads.invoice_doc_key(draft["id"]),
                content_hash=invoice_content_hash(draft, draft_lines),
                payload=None if reasons else payloads.invoice_payload(draft, draft_lines),
                reasons=tuple(reasons),
                source_ref=payloads.invoice_source_ref(draft),
                event_time=draft["event_at"].to_pydatetime(),
                group_key=payloads.customer_key(draft),
                sort_key=sort_key(draft["event_at"].to_pydatetime(), draft["id"]),
                related={} if reasons else payloads.invoice_related(draft),
            )
        )
    return documents


def invoice_content_hash(draft: dict[str, Any], lines: Sequence[dict[str, Any]]) -> str:
    """Hash of the draft's own fields, its company and customer data and its lines."""
    return content_hash(
        "invoice",
        {c: jsonable(draft[c]) for c in HASHED_DRAFT_COLUMNS},
        [{c: jsonable(line[c]) for c in HASHED_LINE_COLUMNS} for line in lines],
    )


def _group_lines(lines: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    ordered = lines.sort_values(["draft_id", "position"], kind="stable").to_dict("records")
    return {key: list(group) for key, group in itertools.groupby(ordered, key=lambda line: line["draft_id"])}
