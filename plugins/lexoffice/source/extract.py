"""Paging through a source query so memory stays flat however large the source grows.

Windows use keyset paging on (cursor time, id): each page is one indexed range scan that resumes after
the previous page's last row, so the thousandth page costs what the first did and nothing is read twice.
Selections by id send at most one page of ids per query. Each page opens its own connection and returns
it before the page is handed on, so no transaction stays open while the caller stages documents.
Staging reads the next page in a thread while it works on the current one (``lexoffice.staging.background``).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lexoffice.source.sql import read_sql, strip_comments
from lexoffice.source.timestamps import UtcDateTime, require_aware

log = logging.getLogger(__name__)

T = TypeVar("T")
Enrich = Callable[[Connection, "Rows"], T]

#: Most values one expanding IN binds; SQLite allows 32,766 variables per statement.
MAX_BOUND_IDS = 10_000


def batches(values: Sequence[T], size: int = MAX_BOUND_IDS) -> Iterator[Sequence[T]]:
    for offset in range(0, len(values), size):
        yield values[offset:offset + size]


def query(name: str, *, datetimes: Sequence[str] = (), expanding: Sequence[str] = ()) -> sa.TextClause:
    """A text query from ``include/sql/<name>`` with typed timestamp binds (results are read raw, see ``Rows``)."""
    return sa.text(strip_comments(read_sql(name))).bindparams(
        *[sa.bindparam(p, type_=UtcDateTime()) for p in datetimes],
        *[sa.bindparam(p, expanding=True) for p in expanding],
    )


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


@dataclass(frozen=True)
class Rows:
    """One result as the driver returned it: column names and plain tuples (no per-row mapping objects).

    Values are left as the driver gives them: on PostgreSQL numbers as float and dates/timestamps as ISO text
    (``_PLAIN_LOADERS``), on SQLite as stored; ``frames.prepare`` types whole columns in one pass.
    """

    columns: tuple[str, ...]
    values: list[tuple[Any, ...]]

    def __len__(self) -> int:
        return len(self.values)

    def column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.values]

    def last(self, name: str) -> Any:
        return self.values[-1][self.columns.index(name)]


#: PostgreSQL types read as text: ``frames.prepare`` converts whole columns at once, which is far cheaper than
#: the driver building a ``Decimal``/``date``/``datetime`` per value (and pandas converting those back).
#: Numbers come as their exact digits (validation judges decimal places, NaN and Infinity on that text: a
#: float would turn NUMERIC 1.230000000000000001 into 1.23); dates and timestamps are ISO text.
_PLAIN_LOADERS = {"numeric": "text", "date": "text", "timestamp": "text", "timestamptz": "text"}


@contextmanager
def _plain_values(conn: Connection) -> Iterator[None]:
    """Within the block, psycopg loads ``_PLAIN_LOADERS`` types as plain text/float on this connection."""
    if conn.dialect.driver != "psycopg":
        yield
        return
    from psycopg.pq import Format
    from psycopg.types.string import TextLoader

    adapters = conn.connection.driver_connection.adapters  # type: ignore[union-attr]
    plain = {"text": TextLoader}
    saved = {name: adapters.get_loader(adapters.types[name].oid, Format.TEXT) for name in _PLAIN_LOADERS}
    for name, kind in _PLAIN_LOADERS.items():
        adapters.register_loader(name, plain[kind])
    try:
        yield
    finally:
        for name, loader in saved.items():
            if loader is not None:
                adapters.register_loader(name, loader)


def fetch(conn: Connection, statement: sa.Executable, params: Mapping[str, Any]) -> Rows:
    """Run ``statement`` and take all rows straight from the DBAPI cursor (no SQLAlchemy row objects)."""
    with _plain_values(conn):
        result = conn.execute(statement, dict(params))
        try:
            return Rows(tuple(result.keys()), list(result.cursor.fetchall()) if result.cursor else [])
        finally:
            result.close()


def as_utc(value: Any) -> datetime:
    """A cursor value read raw from the driver, as the aware UTC datetime the next page binds."""
    if isinstance(value, str):
        value = pd.Timestamp(value).to_pydatetime()
    if not isinstance(value, datetime):
        raise TypeError(f"a cursor column must hold timestamps, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def cursor_bound(value: Any) -> datetime | str:
    """The bound the next page starts after: the last row's cursor as a UTC datetime, or, for a SQLite text that
    is no time at all (validation reports that row), the text itself, so paging goes on after it."""
    try:
        return as_utc(value)
    except (ValueError, TypeError):
        if isinstance(value, str):
            return value
        raise


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
    after: tuple[datetime | str, str] = (start, "")
    pages = 0
    while True:
        with engine.connect() as conn:
            rows = fetch(conn, statement, {**params, after_param: after[0], "after_id": after[1],
                                           "page_size": page_size})
            result = enrich(conn, rows) if rows else None
        if result is None:
            break
        pages += 1
        yield result
        if len(rows) < page_size:
            break
        after = (cursor_bound(rows.last(cursor_column)), rows.last("id"))
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
            rows = fetch(conn, statement, {**params, "ids": chunk})
            result = enrich(conn, rows) if rows else None
        found += len(rows)
        if result is not None:
            yield result
    if found < len(wanted):
        log.warning("%d of %d selected id(s) were not found for this tenant", len(wanted) - found, len(wanted))


def source_pages(
    engine: sa.Engine,
    *,
    window_sql: str,
    ids_sql: str,
    cursor_column: str,
    company_id: str,
    start: datetime | None,
    end: datetime | None,
    ids: Sequence[str] | None,
    page_size: int,
    enrich: Enrich[T],
) -> Iterator[T]:
    """The pages of one stream: exactly ``ids`` when given (``ids_sql``), else the window ``[start, end)``
    keyset-paged on (``cursor_column``, id) (``window_sql`` binds ``:after_<cursor_column>``). Lazy: a page is
    read when the caller asks for it.
    """
    check_page_size(page_size)
    scope = {"company_id": company_id}
    if ids is not None:
        pages = id_pages(engine, query(ids_sql, expanding=("ids",)), scope, ids=ids, page_size=page_size,
                         enrich=enrich)
    else:
        start, end = check_window(start, end)
        after = f"after_{cursor_column}"
        pages = window_pages(engine, query(window_sql, datetimes=("start", "end", after)),
                             {**scope, "start": start, "end": end}, start=start, cursor_column=cursor_column,
                             after_param=after, page_size=page_size, enrich=enrich)
    return pages
