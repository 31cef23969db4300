"""Paging through a source query so memory stays flat however large the source grows.

Windows use keyset paging on (cursor time, id): each page is one indexed range scan that resumes after
the previous page's last row, so the thousandth page costs what the first did and nothing is read twice.
Selections by id send at most one page of ids per query. Each page opens its own connection and returns
it before the page is handed on, so no transaction stays open while the caller stages documents.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from lexoffice.source.sql import read_sql, strip_comments
from lexoffice.source.timestamps import UtcDateTime, require_aware

log = logging.getLogger(__name__)

T = TypeVar("T")
Enrich = Callable[[Connection, list[RowMapping]], T]

#: Most values one expanding IN binds; SQLite allows 32,766 variables per statement.
MAX_BOUND_IDS = 10_000


def batches(values: Sequence[T], size: int = MAX_BOUND_IDS) -> Iterator[Sequence[T]]:
    for offset in range(0, len(values), size):
        yield values[offset:offset + size]


def query(name: str, *, datetimes: Sequence[str] = (), expanding: Sequence[str] = (),
          result_timestamps: Sequence[str] = ()) -> sa.TextClause:
    """A text query from ``include/sql/<name>`` with typed timestamp binds and results."""
    clause = sa.text(strip_comments(read_sql(name))).bindparams(
        *[sa.bindparam(p, type_=UtcDateTime()) for p in datetimes],
        *[sa.bindparam(p, expanding=True) for p in expanding],
    )
    return clause.columns(**{c: UtcDateTime() for c in result_timestamps})  # type: ignore[return-value]


def check_window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    if start is None or end is None:
        raise ValueError("a window needs both start and end (or pass ids for a manual selection)")
    require_aware("start", start)
    require_aware("end", end)
    if end < start:
        raise ValueError(f"window end {end.isoformat()} is before its start {start.isoformat()}")
    return start, end


def check_page_size(chunk_size: int) -> int:
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    return chunk_size


def window_pages(
    engine: sa.Engine,
    statement: sa.TextClause,
    params: Mapping[str, Any],
    *,
    start: datetime,
    cursor_column: str,
    after_param: str,
    page_size: int,
    enrich: Enrich[T],
) -> Iterator[T]:
    """Yield ``enrich(conn, rows)`` for each page of a keyset-paged window query.

    The query binds ``:<after_param>``, ``:after_id`` and ``:page_size`` and orders by (cursor, id);
    the first page starts at ``(start, '')``, which works because ids are non-empty.
    """
    after: tuple[datetime, str] = (start, "")
    pages = 0
    while True:
        with engine.connect() as conn:
            rows = list(conn.execute(statement, {**params, after_param: after[0], "after_id": after[1],
                                                 "page_size": page_size}).mappings())
            result = enrich(conn, rows) if rows else None
        if result is None:
            break
        pages += 1
        yield result
        if len(rows) < page_size:
            break
        after = (rows[-1][cursor_column], rows[-1]["id"])
    log.debug("read %d window page(s)", pages)


def id_pages(
    engine: sa.Engine,
    statement: sa.TextClause,
    params: Mapping[str, Any],
    *,
    ids: Sequence[str],
    page_size: int,
    enrich: Enrich[T],
) -> Iterator[T]:
    """Yield ``enrich(conn, rows)`` for each page of ids (sorted, de-duplicated) bound as ``:ids``."""
    wanted = sorted({str(i) for i in ids})
    found = 0
    for chunk in batches(wanted, min(page_size, MAX_BOUND_IDS)):
        with engine.connect() as conn:
            rows = list(conn.execute(statement, {**params, "ids": chunk}).mappings())
            result = enrich(conn, rows) if rows else None
        found += len(rows)
        if result is not None:
            yield result
    if found < len(wanted):
        log.warning("%d of %d selected id(s) were not found for this tenant", len(wanted) - found, len(wanted))
