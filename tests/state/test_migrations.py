"""Schema migrations (state/migrations): a new database is at head, the models and the migrations agree, and a
state database of the last release without migrations (frozen DDL under tests/state/frozen) upgrades with its
rows; a task refuses an outdated schema and says what to run."""

from __future__ import annotations

import logging
import pathlib
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lexoffice.state import make_engine, migrations, schema, tenants
from lexoffice.state.db import OutdatedSchema, init_db, require_current_schema, schema_version, write_transaction
from tests.support.old_state import old_release
from tests.support.postgres import PostgresServer

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def new_database(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Callable[[], str]:
    """Makes empty databases: SQLite files, or new databases on the session's PostgreSQL server."""
    def make() -> str:
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / f'{uuid.uuid4().hex[:8]}.sqlite'}"
        server: PostgresServer = request.getfixturevalue("postgres_server")
        return server.create_database(f"m_{uuid.uuid4().hex[:12]}")
    return make


@pytest.fixture
def new_url(new_database: Callable[[], str]) -> str:
    return new_database()


def _fill(engine: sa.Engine) -> None:
    """One row in the tables whose rows matter most: a tenant, a sent document, its Lexware status, a mapping."""
    with write_transaction(engine) as conn:
        conn.execute(schema.tenants.insert().values(
            tenant_id="nord", name="Nordschutz GmbH", lexoffice_conn_id="lexoffice_nord", auth_mode="api_key",
            connected=True, export_since=date(2026, 10, 1), created_at=NOW, updated_at=NOW))
        conn.execute(schema.outbox.insert().values(
            tenant_id="nord", stream="invoices", doc_key="draft:D1", state="sent", content_hash="h1",
            payload={"voucherDate": "2026-11-30"}, reasons=[], source_ref="D1", event_time=NOW, related={},
            lexware_id="lx-1", sent_at=NOW, staged_at=NOW, updated_at=NOW))
        conn.execute(schema.lexware_status.insert().values(
            tenant_id="nord", stream="invoices", doc_key="draft:D1", lexware_id="lx-1", status="open",
            status_changed_at=NOW, checked_at=NOW))
        conn.execute(schema.contact_map.insert().values(
            tenant_id="nord", customer_key="K1", state="created", lexware_contact_id="c-1", attempts=1,
            claimed_at=NOW, created_at=NOW, updated_at=NOW))


def _rows(engine: sa.Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(sa.select(t)))
                for t in (schema.tenants, schema.outbox, schema.lexware_status, schema.contact_map)}


_PG_CATALOGUE = {
    "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default "
               "FROM information_schema.columns WHERE table_schema = 'public'",
    "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated "
                   "FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
}


def _catalogue(engine: sa.Engine) -> dict[str, set]:
    """What the database itself says about its tables: columns, constraints and indexes (names and definitions)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return {key: {tuple(row) for row in conn.execute(sa.text(query))} for key, query in _PG_CATALOGUE.items()}
        # SQLite keeps each table's CREATE statement; compare its lines, whose order may differ.
        found: dict[str, set] = {"tables": set(), "indexes": set()}
        for kind, name, sql in conn.execute(sa.text("SELECT type, name, sql FROM sqlite_master "
                                                    "WHERE name NOT LIKE 'sqlite_%'")):
            lines = {line.strip().rstrip(",").strip() for line in (sql or "").splitlines()}
            found["tables" if kind == "table" else "indexes"] |= {(name, line) for line in lines}
        return found


def _without_version_table(found: dict[str, set]) -> dict[str, set]:
    return {key: {row for row in rows if migrations.VERSION_TABLE not in str(row)} for key, rows in found.items()}


def test_a_new_database_is_at_head_with_every_table(new_url: str) -> None:
    engine = make_engine(new_url)
    init_db(engine)
    assert schema_version(engine) == migrations.head()
    assert set(sa.inspect(engine).get_table_names()) == {*schema.metadata.tables, migrations.VERSION_TABLE}
    require_current_schema(engine)  # and a task accepts it
    engine.dispose()


def test_the_models_and_the_migrations_agree(new_url: str) -> None:
    """Alembic's autogenerate finds nothing to do: a change to schema.py without a migration fails here. (Server
    defaults are compared by the catalogue test below: autogenerate misreads SQLite's ``''``.)"""
    engine = make_engine(new_url)
    init_db(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": migrations.VERSION_TABLE,
                                                         "compare_type": True})
        assert compare_metadata(context, schema.metadata) == []
    engine.dispose()


def test_the_migrations_build_exactly_what_the_models_describe(new_database: Callable[[], str]) -> None:
    """Beyond autogenerate (which does not compare CHECK constraints or partial indexes): the catalogue of a
    migrated database equals that of one made by ``metadata.create_all``."""
    migrated = make_engine(new_database())
    init_db(migrated)
    modelled = make_engine(new_database())
    schema.metadata.create_all(modelled)
    assert _without_version_table(_catalogue(migrated)) == _catalogue(modelled)
    migrated.dispose()
    modelled.dispose()


def test_a_database_of_the_last_release_without_migrations_upgrades_with_its_rows(
        new_database: Callable[[], str]) -> None:
    old = old_release(new_database())
    _fill(old)
    before = _rows(old)
    assert schema_version(old) is None
    with pytest.raises(OutdatedSchema, match="lexoffice db upgrade"):
        require_current_schema(old)
    init_db(old)
    assert schema_version(old) == migrations.head()
    assert _rows(old) == before
    fresh = make_engine(new_database())
    init_db(fresh)
    assert _catalogue(old) == _catalogue(fresh)
    old.dispose()
    fresh.dispose()


def test_an_older_release_gets_its_missing_tables_and_loses_the_retired_index(new_url: str) -> None:
    """Older releases lacked later tables and carried an index in delivery order; both are put right, rows kept."""
    old = old_release(new_url)
    _fill(old)
    with write_transaction(old) as conn:
        conn.execute(sa.text("DROP TABLE oauth_pending"))
        conn.execute(sa.text("DROP TABLE tenant_settings"))
        conn.execute(sa.text("CREATE INDEX ix_outbox_delivery_order ON outbox "
                             "(tenant_id, stream, state, coalesce(group_key, ''), sort_key, id)"))
    before = _rows(old)
    init_db(old)
    assert {"oauth_pending", "tenant_settings"} <= set(sa.inspect(old).get_table_names())
    assert "ix_outbox_delivery_order" not in _outbox_indexes(old)
    assert _rows(old) == before
    assert tenants.send_mode(old, "nord") == "all"  # a tenant from before send modes keeps its behaviour
    old.dispose()


def test_a_lexware_status_table_from_before_sepadebit_accepts_it_after_the_upgrade(new_url: str) -> None:
    old = old_release(new_url, ddl_edit=("'open', 'sepadebit', 'overdue'", "'open', 'overdue'"))
    _fill(old)
    with pytest.raises(sa.exc.IntegrityError), write_transaction(old) as conn:
        conn.execute(schema.lexware_status.update().values(status="sepadebit"))
    before = _rows(old)
    init_db(old)
    assert _rows(old) == before
    with write_transaction(old) as conn:
        conn.execute(schema.lexware_status.update().values(status="sepadebit"))
    with pytest.raises(sa.exc.IntegrityError), write_transaction(old) as conn:
        conn.execute(schema.lexware_status.update().values(status="bezahlt"))  # the CHECK is still there
    old.dispose()


@pytest.mark.postgres
def test_an_outbox_without_its_tenant_key_gets_it_back(postgres_server: PostgresServer) -> None:
    old = old_release(postgres_server.create_database(f"m_{uuid.uuid4().hex[:12]}"))
    _fill(old)
    with write_transaction(old) as conn:  # what the release that dropped the key for staging speed left
        conn.execute(sa.text("ALTER TABLE outbox DROP CONSTRAINT fk_outbox_tenant_id_tenants"))
    init_db(old)
    assert _outbox_keys(old) == [("fk_outbox_tenant_id_tenants", True)]
    with pytest.raises(sa.exc.IntegrityError), write_transaction(old) as conn:
        conn.execute(schema.outbox.insert().values(
            tenant_id="nobody", stream="invoices", doc_key="draft:D8", state="pending", content_hash="h",
            reasons=[], source_ref="D8", event_time=NOW, related={}, staged_at=NOW, updated_at=NOW))
    old.dispose()


@pytest.mark.postgres
def test_rows_of_a_deleted_tenant_leave_the_restored_key_unvalidated(postgres_server: PostgresServer,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """A PostgreSQL state database from the release that dropped the key; one orphan row leaves it unvalidated,
    with a warning naming the tenant and the statement to run once it is back."""
    old = old_release(postgres_server.create_database(f"m_{uuid.uuid4().hex[:12]}"))
    _fill(old)
    with write_transaction(old) as conn:
        conn.execute(sa.text("ALTER TABLE outbox DROP CONSTRAINT fk_outbox_tenant_id_tenants"))
        conn.execute(schema.outbox.insert().values(
            tenant_id="gone", stream="invoices", doc_key="draft:D9", state="sent", content_hash="h", reasons=[],
            source_ref="D9", event_time=NOW, related={}, staged_at=NOW, updated_at=NOW))
    with caplog.at_level(logging.WARNING, logger="lexoffice.state.migrations"):
        init_db(old)
    assert _outbox_keys(old) == [("fk_outbox_tenant_id_tenants", False)]
    assert "gone" in caplog.text and "VALIDATE CONSTRAINT fk_outbox_tenant_id_tenants" in caplog.text
    with pytest.raises(sa.exc.IntegrityError), write_transaction(old) as conn:  # new rows are checked
        conn.execute(schema.outbox.insert().values(
            tenant_id="nobody", stream="invoices", doc_key="draft:D8", state="pending", content_hash="h",
            reasons=[], source_ref="D8", event_time=NOW, related={}, staged_at=NOW, updated_at=NOW))
    with write_transaction(old) as conn:  # what the warning says to do
        conn.execute(schema.tenants.insert().values(tenant_id="gone", name="Gone", lexoffice_conn_id="lex_gone",
                                                    auth_mode="api_key", connected=False, created_at=NOW,
                                                    updated_at=NOW))
        conn.execute(sa.text("ALTER TABLE outbox VALIDATE CONSTRAINT fk_outbox_tenant_id_tenants"))
    assert _outbox_keys(old) == [("fk_outbox_tenant_id_tenants", True)]
    old.dispose()


def test_a_schema_newer_than_the_code_is_refused_too(new_url: str) -> None:
    engine = make_engine(new_url)
    init_db(engine)
    with write_transaction(engine) as conn:
        conn.execute(sa.text(f"UPDATE {migrations.VERSION_TABLE} SET version_num = '9999'"))
    with pytest.raises(OutdatedSchema, match="newer release"):
        require_current_schema(engine)
    with pytest.raises(OutdatedSchema, match="newer release"):  # and an older upgrader does not touch it
        init_db(engine)
    engine.dispose()


def _outbox_indexes(engine: sa.Engine) -> set[str]:
    query = ("SELECT indexname FROM pg_indexes WHERE tablename = 'outbox'" if engine.dialect.name == "postgresql"
             else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox'")
    with engine.connect() as conn:
        return set(conn.execute(sa.text(query)).scalars())


def _outbox_keys(engine: sa.Engine) -> list[tuple[str, bool]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'outbox'::regclass AND contype = 'f'"))]
