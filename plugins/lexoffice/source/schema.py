"""Create the source schemas from ``include/sql/*_schema.sql`` (the demo, the tests and new sources use it)."""

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
