"""Versioned schema changes of the state database (Alembic), run with the state engine, no alembic.ini.

Why Alembic and not ``create_all`` at every task start: a table that changes shape needs an ``ALTER``, and
schema work at the start of every task queues behind running stages and races between workers. Migrations
run once, on purpose (``lexoffice init`` / ``lexoffice db upgrade``, the compose init container); tasks only
read the version (``state.db.require_current_schema``).

The version is kept in ``lexoffice_alembic_version``, not Alembic's default ``alembic_version``: the state
database may share a PostgreSQL database with Airflow's metadata, whose migrations use the default name.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import sqlalchemy as sa

VERSION_TABLE = "lexoffice_alembic_version"
_HERE = Path(__file__).resolve().parent


def config(connection: sa.Connection | None = None):  # noqa: ANN201 - alembic.config.Config
    """An Alembic configuration for this package; ``env.py`` runs on ``connection`` (the caller's transaction)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def _scripts():  # noqa: ANN202 - alembic.script.ScriptDirectory; loaded once per process
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config())


def head() -> str:
    """The newest revision this version of the code knows."""
    return str(_scripts().get_current_head())


def known(revision: str) -> bool:
    """Whether ``revision`` is one of this package's revisions (an unknown one was written by newer code)."""
    from alembic.util import CommandError

    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


def current(conn: sa.Connection) -> str | None:
    """The revision the database is at; None for a database no migration has touched yet.

    Read directly (one row, one column) rather than through Alembic's MigrationContext, which logs two lines
    at every task start.
    """
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one_or_none()


def upgrade(conn: sa.Connection, revision: str = "head") -> None:
    """Apply the missing migrations inside the caller's transaction (all or nothing where DDL is transactional).

    Alembic's INFO lines (its dialect, each step) are held back: a person's first ``lexoffice tenant add`` creates
    the tables and should print only its own answer; ``lexoffice db upgrade`` says what changed itself.
    """
    from alembic import command

    chatty = logging.getLogger("alembic")
    level = chatty.level
    chatty.setLevel(max(level, logging.WARNING))
    try:
        command.upgrade(config(conn), revision)
    finally:
        chatty.setLevel(level)
