"""Engine setup: concurrent writers serialise instead of failing; the schema is created idempotently."""

from __future__ import annotations

import pathlib
import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from lexoffice.state import make_engine, migrations, schema, tenants
from lexoffice.state.db import (UnsupportedDatabase, init_db, read_transaction, require_current_schema,
                                write_transaction)
from lexoffice.state.schema import metadata, rate_slots, runs


def test_sqlite_pragmas(tmp_path: pathlib.Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
    with engine.connect() as conn:
        pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")}
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 30000, "foreign_keys": 1, "synchronous": 2}


def test_postgres_urls_use_psycopg3() -> None:
    engine = make_engine("postgresql://user:secret@db.example:5432/state")
    assert engine.dialect.driver == "psycopg"
    assert engine.pool._pre_ping  # type: ignore[attr-defined]
    assert "secret" not in repr(engine)
    with pytest.raises(UnsupportedDatabase, match="mysql"):
        make_engine("mysql://u@h/db")


def _write_slowly(engine: sa.Engine, key: str, started: threading.Event, errors: list[BaseException]) -> None:
    """Read first, then write later in the same transaction: the pattern SQLite's deferred BEGIN breaks."""
    try:
        with write_transaction(engine) as conn:
            started.set()
            conn.execute(sa.select(sa.func.count()).select_from(rate_slots)).scalar_one()
            time.sleep(0.2)
            conn.execute(sa.insert(rate_slots).values(key=key, next_at=0.0))
    except BaseException as exc:  # noqa: BLE001
        errors.append(exc)


def test_concurrent_read_then_write_transactions_serialise(engine: sa.Engine) -> None:
    errors: list[BaseException] = []
    events = [threading.Event() for _ in range(4)]
    threads = [threading.Thread(target=_write_slowly, args=(engine, f"k{i}", events[i], errors)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with read_transaction(engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(rate_slots)).scalar_one() == 4


def test_readers_do_not_wait_for_a_writer(engine: sa.Engine) -> None:
    holding, done = threading.Event(), threading.Event()

    def hold_write_lock() -> None:
        with write_transaction(engine) as conn:
            conn.execute(sa.insert(rate_slots).values(key="held", next_at=0.0))
            holding.set()
            done.wait(timeout=30)

    writer = threading.Thread(target=hold_write_lock)
    writer.start()
    try:
        assert holding.wait(timeout=30)
        # The writer lets go only after this read: a reader that waited for it would fail with "database is
        # locked" after the busy timeout instead of reading. No wall-clock bound needed (issue 15).
        with read_transaction(engine) as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(rate_slots)).scalar_one() == 0
    finally:
        done.set()
        writer.join(timeout=30)


def test_init_db_is_idempotent_and_safe_in_parallel(postgres_url: str, tmp_path: pathlib.Path) -> None:
    for url in (f"sqlite:///{tmp_path / 'fresh.sqlite'}", postgres_url):
        engine = make_engine(url)
        errors: list[BaseException] = []

        def init() -> None:
            try:
                init_db(engine)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=init) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        init_db(engine)
        assert errors == [], url
        assert set(sa.inspect(engine).get_table_names()) == {*metadata.tables, migrations.VERSION_TABLE}, url
        engine.dispose()


def test_naive_datetimes_are_refused_and_results_are_utc(engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        with write_transaction(engine) as conn:
            conn.execute(sa.insert(runs).values(run_id="r", tenant_id="t", stream="s", status="x", counts={},
                                                message="", started_at=datetime(2025, 1, 1, 12, 0)))


def test_bound_parameters_stay_out_of_error_messages(engine: sa.Engine) -> None:
    """SQLAlchemy would print every parameter (names, addresses, e-mails); make_engine hides them.

    (PostgreSQL's own DETAIL line of a NOT NULL violation still shows the row; that is the server's text.)
    """
    with pytest.raises(sa.exc.IntegrityError) as caught:
        with write_transaction(engine) as conn:
            conn.execute(sa.insert(rate_slots).values(key="Müller, Hauptstraße 5", next_at=None))
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(caught.value)
    assert "[parameters:" not in str(caught.value)


def _outbox_row(tenant_id: str, doc_key: str) -> dict:
    now = datetime.now(UTC)
    return {"tenant_id": tenant_id, "stream": "invoices", "doc_key": doc_key, "state": "pending",
            "content_hash": "h", "payload": {}, "reasons": [], "source_ref": doc_key, "event_time": now,
            "related": {}, "staged_at": now, "updated_at": now}


def _add_tenant(engine: sa.Engine, tenant_id: str) -> None:
    tenants.add_tenant(engine, tenant_id=tenant_id, name=tenant_id, lexoffice_conn_id=f"lexoffice_{tenant_id}")


def test_outbox_rows_belong_to_an_existing_tenant(engine: sa.Engine) -> None:
    """The record of what was sent cannot point at no tenant, and a tenant with such a record stays."""
    init_db(engine)
    _add_tenant(engine, "t1")
    with write_transaction(engine) as conn:
        conn.execute(schema.outbox.insert(), _outbox_row("t1", "d1"))
    with pytest.raises(sa.exc.IntegrityError), write_transaction(engine) as conn:
        conn.execute(schema.outbox.insert(), _outbox_row("nobody", "d2"))
    with pytest.raises(sa.exc.IntegrityError), write_transaction(engine) as conn:
        conn.execute(sa.delete(schema.tenants).where(schema.tenants.c.tenant_id == "t1"))


@pytest.mark.postgres
def test_checking_the_schema_does_not_wait_for_a_busy_outbox(postgres_url: str) -> None:
    """Tasks check the schema at start (and init_db on a current schema only reads the version): neither may
    queue behind a running stage."""
    engine = make_engine(postgres_url)
    init_db(engine)
    with engine.connect() as busy:
        busy.execute(sa.text("LOCK TABLE outbox IN ROW EXCLUSIVE MODE"))  # what a staging transaction holds
        # Queuing behind the lock would fail with PostgreSQL's lock timeout error; no wall-clock bound needed.
        checker = make_engine(postgres_url, connect_args={"options": "-c lock_timeout=2000"})
        require_current_schema(checker)
        init_db(checker)
        busy.rollback()
        checker.dispose()
    engine.dispose()
