"""Engines for the state database, configured so that concurrent workers serialise instead of failing.

SQLite (the embedded demo) gets WAL, a 30 s busy timeout, foreign keys, full fsync and ``BEGIN IMMEDIATE``
for write transactions: a deferred transaction that reads first and writes later can fail at once with
"database is locked" in WAL mode, while ``BEGIN IMMEDIATE`` waits for the write lock up front.
PostgreSQL (production) gets ``pool_pre_ping`` so a restarted server costs a reconnect, not a failed task.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
_READ_ONLY = "lexoffice_read_only"
_INIT_LOCK_ID = int.from_bytes(b"lexinit!", "big", signed=True)  # advisory-lock id for schema upgrades


class UnsupportedDatabase(ValueError):
    """The state database must be SQLite or PostgreSQL (psycopg 3)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str | sa.URL, **engine_kwargs: Any) -> sa.Engine:
    """Create an engine for the state database (SQLite file or PostgreSQL via psycopg 3)."""
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    # Parameters carry customer names, addresses and e-mails: keep them out of exception text and logs.
    engine_kwargs.setdefault("hide_parameters", True)
    if backend == "sqlite":
        create_private_sqlite_file(parsed.database)
        engine = sa.create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, **engine_kwargs)
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgres"):
            # Airflow connection URIs say "postgresql://"; psycopg 3 is the driver we ship and test.
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine_kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(parsed, **engine_kwargs)
    raise UnsupportedDatabase(
        f"state database backend {backend!r} is not supported; use sqlite:///path or postgresql+psycopg://…"
    )


def create_private_sqlite_file(database: str | None) -> None:
    """Create a missing SQLite database file readable by its owner only (0600): the state database holds
    encrypted tokens and business data. SQLite gives its -wal and -shm files the database file's mode.
    An existing file is left as it is; a missing folder is a clear error instead of "unable to open"."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists():
        return
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"the folder {path.parent} of the SQLite database {path.name} does not exist: create it, or "
            "correct the database URL")
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:  # another process created it first
        pass


def _configure_sqlite(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 driver; the "begin" hook below emits the right one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            # FULL, not NORMAL: a committed "sending" must survive a power cut before the POST goes out.
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def is_postgres(bind: sa.Engine | sa.Connection) -> bool:
    return bind.dialect.name == "postgresql"


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction that will write: on SQLite it holds the write lock from its first statement."""
    with engine.begin() as conn:
        yield conn


@contextmanager
def read_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction that only reads: on SQLite a deferred BEGIN, so readers never queue behind writers."""
    with engine.connect() as conn:
        conn.execution_options(**{_READ_ONLY: True})
        with conn.begin():
            yield conn


def db_now(conn: sa.Connection) -> datetime:
    """The current time from the database server's clock on PostgreSQL, the local clock on SQLite.

    Leases and rate slots are shared by several machines; on PostgreSQL they all read one clock, so their
    skew does not matter. SQLite is always on one machine.
    """
    if is_postgres(conn):
        value = conn.execute(sa.select(sa.func.clock_timestamp())).scalar_one()
        return value.astimezone(UTC)
    return utcnow()


def init_db(engine: sa.Engine) -> None:
    """Create the state database's tables, or bring an existing one to this version's schema (the migrations in
    ``state/migrations``). Idempotent, and safe when several processes start at once. Run by ``lexoffice init`` /
    ``lexoffice db upgrade``, the compose init container, the demo and the tests; tasks only check the version."""
    from lexoffice.state import migrations

    with write_transaction(engine) as conn:
        if is_postgres(conn):
            # Two upgraders would both see the old version; serialise them (SQLite: BEGIN IMMEDIATE does).
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_INIT_LOCK_ID)))
        found = migrations.current(conn)
        if found is not None and not migrations.known(found):
            raise _written_by_newer_code(found)
        if found != migrations.head():  # the common case costs one read of the version
            migrations.upgrade(conn)


class OutdatedSchema(RuntimeError):
    """The state database is not at the schema this version of the code expects: one line saying what to do."""


def schema_version(engine: sa.Engine) -> str | None:
    """The state database's schema revision (None: no migration has run on it yet)."""
    from lexoffice.state import migrations

    with read_transaction(engine) as conn:
        return migrations.current(conn)


def require_current_schema(engine: sa.Engine, *, create_if_new: bool = False) -> None:
    """Refuse to work on a state database whose schema is older (or newer) than this code's.

    Called where tasks open the state database: one read of the version table, no DDL, no lock that could queue
    behind a running stage. Schema changes happen only in ``lexoffice db upgrade``. ``create_if_new`` (the CLI: a
    person's first ``lexoffice tenant add``) creates the tables in a database that has none at all.
    """
    from lexoffice.state import migrations

    found, wanted = schema_version(engine), migrations.head()
    if found == wanted:
        return
    if found is None and create_if_new and not sa.inspect(engine).get_table_names():
        init_db(engine)
        return
    if found is not None and not migrations.known(found):
        raise _written_by_newer_code(found)
    raise OutdatedSchema(
        f"Die Zustandsdatenbank ist nicht auf dem Schemastand dieser Version ({found or 'ohne Version'}, "
        f"benötigt {wanted}): führen Sie `lexoffice db upgrade` aus. / The state database schema is outdated "
        f"({found or 'none'}, needs {wanted}): run `lexoffice db upgrade`.")


def _written_by_newer_code(found: str) -> OutdatedSchema:
    return OutdatedSchema(
        f"Die Zustandsdatenbank hat die Schemaversion {found}, die diese Installation nicht kennt: sie wurde von "
        f"einer neueren Version von lexoffice-airflow aktualisiert; installieren Sie diese Version auch hier. / "
        f"The state database is at schema {found}, which this installation does not know (a newer release "
        "upgraded it): install that release here too.")


def dialect_insert(bind: sa.Engine | sa.Connection, table: sa.Table) -> Any:
    """INSERT with ON CONFLICT support (both SQLite and PostgreSQL spell it the same in SQLAlchemy)."""
    if is_postgres(bind):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)
