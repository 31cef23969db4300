"""Source databases for the demo, the tests and the benchmark: create the schemas of ``include/sql/*_schema.sql``
and write rows into them.

A real source system owns its schema; the provider only reads it (``lexoffice.source``), so none of this is
installed with the provider.
"""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa

from lexoffice.source.sql import read_sql, split_statements

SchemaName = Literal["fieldservice", "bank"]

_SCRIPTS: dict[str, str] = {"fieldservice": "fieldservice_schema.sql", "bank": "bank_schema.sql"}


def create_schema(engine: sa.Engine, which: SchemaName) -> None:
    """Create the tables and indexes of one source schema; safe to call again (IF NOT EXISTS)."""
    try:
        script = _SCRIPTS[which]
    except KeyError:
        raise ValueError(f"unknown source schema {which!r}; expected one of {sorted(_SCRIPTS)}") from None
    with engine.begin() as conn:
        for statement in split_statements(read_sql(script)):
            conn.exec_driver_sql(statement)


def insert_rows(conn: sa.Connection, table: sa.TableClause, rows: list[dict[str, object]]) -> None:
    """Insert ``rows`` in one executemany; columns a row leaves out are NULL (executemany needs one shape)."""
    if not rows:
        return
    names = [column.name for column in table.columns]
    unknown = {key for row in rows for key in row} - set(names)
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {sorted(unknown)}")
    conn.execute(table.insert(), [{name: row.get(name) for name in names} for row in rows])
