"""Checks of a source against its contract that no single row can show: what a window would silently miss.

* SQLite sources must hold timestamps as UTC text. A number (an epoch integer, say) sorts before every text
  in SQLite, so no window ever reads the row: it would be lost without a word. Staging reports the count.
* Transactions of accounts connected from another bank are out of scope (never read by a window); the
  report counts them once instead of listing each as a failure.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa

from lexoffice.documents import Stream
from lexoffice.source.extract import fetch, query

log = logging.getLogger(__name__)

_UNTYPED = {Stream.INVOICES: "sqlite_untyped_draft_times.sql",
            Stream.TRANSACTIONS: "sqlite_untyped_transaction_times.sql"}


def untyped_timestamps(engine: sa.Engine, stream: Stream, company_id: str) -> list[str]:
    """One line per source column holding timestamps that are not text (SQLite only; empty elsewhere)."""
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as conn:
        rows = fetch(conn, query(_UNTYPED[Stream(stream)]), {"company_id": company_id}).values
    problems = [
        f"{column}: {count} row(s) of company {company_id} hold {example!r}, not a UTC text time "
        "'YYYY-MM-DD HH:MM:SS'; no window reads them. Store these times as text in the source "
        "(see docs/sources.md), then run again."
        for column, count, example in rows if count
    ]
    for problem in problems:
        log.warning("source problem: %s", problem)
    return problems


def out_of_scope_transactions(engine: sa.Engine, company_id: str, start: datetime, end: datetime) -> int:
    """Transactions completed in ``[start, end)`` on accounts of other banks (multi-banking)."""
    statement = query("transactions_out_of_scope.sql", datetimes=("start", "end"))
    with engine.connect() as conn:
        rows = fetch(conn, statement, {"company_id": company_id, "start": start, "end": end}).values
    return int(rows[0][0]) if rows else 0
