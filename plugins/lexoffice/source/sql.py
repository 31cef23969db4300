"""Load the SQL files in ``include/sql/``: the queries are the documented contract, so they stay SQL files.

The folder is found next to ``plugins/`` (the repository layout, also in the Airflow image); set
``LEXOFFICE_SQL_DIR`` when the files live elsewhere.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

SQL_DIR_ENV = "LEXOFFICE_SQL_DIR"

_LINE_COMMENT = re.compile(r"--[^\n]*")


def sql_dir() -> Path:
    override = os.environ.get(SQL_DIR_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "include" / "sql"


@functools.cache
def read_sql(name: str) -> str:
    """The text of one SQL file, e.g. ``read_sql("transactions_window.sql")``."""
    path = sql_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"SQL file {name!r} not found in {sql_dir()} (set {SQL_DIR_ENV} to override)")
    return path.read_text(encoding="utf-8")


def strip_comments(script: str) -> str:
    """Remove ``--`` comments (they document bind parameters, which ``sa.text`` would otherwise parse).

    Our files keep ``--`` and ``;`` out of string literals, so this is exact for them; it is not a
    general SQL parser.
    """
    return _LINE_COMMENT.sub("", script)


def split_statements(script: str) -> list[str]:
    """Split a DDL script into statements (same assumption as ``strip_comments``)."""
    return [stmt.strip() for stmt in strip_comments(script).split(";") if stmt.strip()]
