"""Invoice drafts read from the field-service source, one page of prepared (drafts, lines) frames at a time.

Windows read by ``COALESCE(updated_at, created_at)``; a selection reads exactly the given ids. Staging
(``lexoffice.staging.invoices``) validates each page and builds its documents.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lexoffice.source import frames
from lexoffice.source.extract import Rows, batches, fetch, query, source_pages

_WINDOW = "invoice_drafts_window.sql"
_BY_IDS = "invoice_drafts_by_ids.sql"
_LINES = "invoice_draft_lines.sql"


def iter_invoice_frames(
    engine: sa.Engine,
    *,
    company_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
    ids: Sequence[str] | None = None,
    chunk_size: int = 2000,
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """Drafts of ``company_id`` changed in ``[start, end)``, or exactly those in ``ids``, as prepared
    (drafts, lines) frames of at most ``chunk_size`` drafts (the pages behind ``iter_invoice_documents``)."""
    lines_query = query(_LINES, expanding=("draft_ids",))

    def enrich(conn: Connection, drafts: Rows) -> tuple[Rows, Rows]:
        lines: Rows | None = None
        for draft_ids in batches(drafts.column("id")):
            batch = fetch(conn, lines_query, {"draft_ids": list(draft_ids)})
            lines = batch if lines is None else Rows(lines.columns, lines.values + batch.values)
        return drafts, lines if lines is not None else Rows(frames.LINES.columns, [])

    pages = source_pages(engine, window_sql=_WINDOW, ids_sql=_BY_IDS, cursor_column="event_at",
                         company_id=company_id, start=start, end=end, ids=ids, page_size=chunk_size, enrich=enrich)
    for drafts, lines in pages:
        yield (frames.from_columns(frames.DRAFTS, drafts.columns, drafts.values),
               frames.from_columns(frames.LINES, lines.columns, lines.values))
