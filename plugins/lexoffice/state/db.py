"""Engines for the state database, configured so that concurrent workers serialise instead of failing.

SQLite (the embedded demo) gets WAL, a 30 s busy timeout, foreign keys, full fsync and ``BEGIN IMMEDIATE``
for write transactions: a deferred transaction that reads first and writes later can fail at once with
"database is locked" in WAL mode, while ``BEGIN IMMEDIATE`` waits for the write lock up front.
PostgreSQL (production) gets ``pool_pre_ping`` so a restarted server costs a reconnect, not a failed task.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lexoffice.state.schema import RETIRED_INDEXES, metadata, outbox

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
_READ_ONLY = "lexoffice_read_only"
_INIT_LOCK_ID = int.from_bytes(b"lexinit!", "big", signed=True)  # advisory-lock id for schema creation


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
    """Create all tables that do not exist yet. Idempotent, and safe when several processes start at once."""
    with write_transaction(engine) as conn:
        if is_postgres(conn):
            # CREATE TABLE IF NOT EXISTS still races on the catalogue; serialise the creators instead.
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_INIT_LOCK_ID)))
        metadata.create_all(conn, checkfirst=True)
        for index in RETIRED_INDEXES:  # what older versions created and nothing reads any more
            conn.execute(sa.text(f"DROP INDEX IF EXISTS {index}"))
        if is_postgres(conn):
            _restore_outbox_tenant_key(conn)


def _restore_outbox_tenant_key(conn: sa.Connection) -> None:
    """Add the outbox's foreign key to tenants back to a PostgreSQL state database that an older version
    left without it. (SQLite cannot add a constraint to an existing table; it keeps what it has.)

    The catalogue is read first, because init_db runs at the start of every task and ALTER TABLE would queue
    behind a running stage even when there is nothing to do. The key is added ``NOT VALID`` (a short lock,
    new rows are checked from then on) and validated afterwards, which reads the table without blocking
    writers. Rows of a tenant deleted by hand leave the key unvalidated, with a warning saying what to do.
    """
    (key,) = [fk for fk in outbox.foreign_keys if fk.column.table.name == "tenants"]
    name = key.constraint.name
    found = conn.execute(sa.text("SELECT convalidated FROM pg_constraint WHERE conname = :name "
                                 "AND conrelid = 'outbox'::regclass"), {"name": name}).first()
    if found is None:
        conn.execute(sa.text(f"ALTER TABLE outbox ADD CONSTRAINT {name} FOREIGN KEY (tenant_id) "
                             "REFERENCES tenants (tenant_id) ON DELETE RESTRICT NOT VALID"))
    elif found.convalidated:
        return
    try:
        with conn.begin_nested():
            conn.execute(sa.text(f"ALTER TABLE outbox VALIDATE CONSTRAINT {name}"))
    except sa.exc.IntegrityError:
        orphans = conn.execute(sa.text("SELECT DISTINCT tenant_id FROM outbox WHERE tenant_id NOT IN "
                                       "(SELECT tenant_id FROM tenants) ORDER BY tenant_id LIMIT 10")).scalars()
        names = ", ".join(orphans)
        log.warning("Outbox-Zeilen gelöschter Mandanten: %s. Neue Zeilen werden geprüft; legen Sie diese "
                    "Mandanten wieder an (lexoffice tenant add), damit der Fremdschlüssel vollständig gilt. / "
                    "Outbox rows of deleted tenants: %s. New rows are checked; add those tenants back "
                    "(lexoffice tenant add) so the foreign key is validated.", names, names)


def dialect_insert(bind: sa.Engine | sa.Connection, table: sa.Table) -> Any:
    """INSERT with ON CONFLICT support (both SQLite and PostgreSQL spell it the same in SQLAlchemy)."""
    if is_postgres(bind):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)
