"""State databases as the last release without migrations left them: its DDL, frozen under tests/state/frozen."""

from __future__ import annotations

import pathlib

import sqlalchemy as sa

from lexoffice.state import make_engine
from lexoffice.state.db import write_transaction

FROZEN = pathlib.Path(__file__).resolve().parents[1] / "state" / "frozen"


def old_release(url: str, *, ddl_edit: tuple[str, str] | None = None) -> sa.Engine:
    """Create the schema of main on 2026-12-07 (no version table) in the empty database at ``url``.

    ``ddl_edit`` (old, new) changes the frozen DDL first, for what still older releases made differently.
    """
    engine = make_engine(url)
    ddl = (FROZEN / f"state_schema_2026_12_07.{engine.dialect.name}.sql").read_text()
    if ddl_edit:
        assert ddl_edit[0] in ddl, ddl_edit
        ddl = ddl.replace(*ddl_edit)
    code = "\n".join(line for line in ddl.splitlines() if not line.startswith("--"))
    with write_transaction(engine) as conn:
        for statement in filter(str.strip, code.split(";\n")):
            conn.exec_driver_sql(statement)
    return engine
