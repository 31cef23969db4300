"""The optional write-back into the field-service database: the project's own status table, only what
changed, off by default, and a clear error when the source connection may not write (PostgreSQL roles)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from lexoffice.followup import writeback
from lexoffice.followup.status_sync import run_for_tenant
from lexoffice.state.db import make_engine
from lexoffice.state.tenants import TenantNotFound
from tests.followup.conftest import TENANT, Office
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.timeout(180)


def _sync(office: Office) -> None:
    from datetime import timedelta

    run_for_tenant(state_engine=office.engine, tenant=office.tenant, client_factory=office.client,
                   grace=timedelta(0), lease_wait=30)


def _table(source: sa.Engine) -> dict[str, tuple[str, str | None, str | None]]:
    with source.connect() as conn:
        rows = conn.execute(sa.select(writeback.status_table).where(writeback.status_table.c.company_id == "c1"))
        return {r.source_id: (r.state, r.lexware_status, r.voucher_number) for r in rows}


def test_off_by_default_and_switched_per_tenant(office: Office) -> None:
    assert writeback.enabled(office.engine, TENANT) is False
    writeback.set_enabled(office.engine, TENANT, True)
    assert writeback.enabled(office.engine, TENANT) is True
    writeback.set_enabled(office.engine, TENANT, False)
    assert writeback.enabled(office.engine, TENANT) is False
    with pytest.raises(TenantNotFound):
        writeback.set_enabled(office.engine, "nobody", True)


@pytest.mark.parametrize("source_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_rows_follow_lexware_and_only_changes_are_written(office: Office, tmp_path: Path, source_kind: str,
                                                          request: pytest.FixtureRequest,
                                                          long_ago: Callable[[], datetime]) -> None:
    source = make_engine(f"sqlite:///{tmp_path / 'fieldservice.db'}" if source_kind == "sqlite"
                         else request.getfixturevalue("postgres_server").create_database(
                             f"fs_{uuid.uuid4().hex[:10]}"))
    office.send("draft:a", "draft:b", sent_at=long_ago())
    _sync(office)
    assert writeback.write_back(state_engine=office.engine, source_engine=source, tenant=office.tenant) == 2
    assert _table(source) == {"a": ("sent", "draft", None), "b": ("sent", "draft", None)}
    assert writeback.write_back(state_engine=office.engine, source_engine=source, tenant=office.tenant) == 0

    office.act("draft:a", "finalize")
    _sync(office)
    assert writeback.write_back(state_engine=office.engine, source_engine=source, tenant=office.tenant) == 1
    assert _table(source)["a"] == ("sent", "overdue", "RE0001")  # voucher date 2025, no payment term


@pytest.mark.postgres
@pytest.mark.parametrize("how", ["no-create-privilege", "select-only", "read-only-transactions"])
def test_a_read_only_source_connection_gets_a_clear_error(office: Office, postgres_server: PostgresServer,
                                                          postgres_url: str, how: str,
                                                          long_ago: Callable[[], datetime]) -> None:
    office.send("draft:a", sent_at=long_ago())
    role = f"reader_{uuid.uuid4().hex[:8]}"
    database = postgres_url.rsplit("/", 1)[-1]
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"'))
        if how == "select-only":  # the table exists (created by an admin), the role may only read it
            writeback.source_metadata.create_all(conn)
            conn.execute(sa.text(f'GRANT SELECT ON {writeback.TABLE} TO "{role}"'))
        if how == "read-only-transactions":  # may create, but every transaction is read-only
            conn.execute(sa.text(f'GRANT CREATE ON SCHEMA public TO "{role}"'))
            conn.execute(sa.text(f'ALTER ROLE "{role}" SET default_transaction_read_only = on'))
    admin.dispose()
    source = make_engine(postgres_url.replace("postgres@", f"{role}@"))
    try:
        with pytest.raises(writeback.SourceReadOnly) as caught:
            writeback.write_back(state_engine=office.engine, source_engine=source, tenant=office.tenant)
    finally:
        source.dispose()
    message = str(caught.value)
    assert "nur Lesezugriff" in message and writeback.TABLE in message
    assert f"lexoffice tenant writeback {TENANT} --off" in message
    assert "postgresql" not in message  # names the fix, never the connection string


def test_a_read_only_sqlite_source_gets_the_same_clear_error(office: Office, tmp_path: Path,
                                                             long_ago: Callable[[], datetime]) -> None:
    office.send("draft:a", sent_at=long_ago())
    path = tmp_path / "fieldservice.db"
    with sqlite3.connect(path) as conn:  # the field-service database exists; we may only read it
        conn.execute("CREATE TABLE companies (id TEXT)")
    source = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(writeback.SourceReadOnly, match="nur Lesezugriff"):
        writeback.write_back(state_engine=office.engine, source_engine=source, tenant=office.tenant)
    source.dispose()


def test_the_nightly_step_writes_back_even_when_lexware_cannot_be_read(office: Office, tmp_path: Path,
                                                                       long_ago: Callable[[], datetime]) -> None:
    from lexoffice.client import ApiKeyAuth, LexofficeClient
    from lexoffice.client.retry import RetryPolicy
    from lexoffice.followup import nightly
    from tests.support.sandbox_server import free_port

    office.send("draft:a", sent_at=long_ago())
    writeback.set_enabled(office.engine, TENANT, True)
    source = make_engine(f"sqlite:///{tmp_path / 'fieldservice.db'}")
    unreachable = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    def client_factory(_: object) -> LexofficeClient:
        return LexofficeClient(unreachable, ApiKeyAuth(office.api_key), allow_insecure_http=True,
                               retry=RetryPolicy(max_attempts=1))

    summary = nightly.run(state_engine=office.engine, tenant=office.tenant, client_factory=client_factory,
                          source_engine=lambda: source)
    assert "error" in summary and summary["written_back"] == 1
    assert _table(source) == {"a": ("sent", None, None)}  # Datum senden and state, no Lexware status yet
    source.dispose()


def test_the_write_back_compares_and_writes_a_page_at_a_time(office: Office, tmp_path: Path,
                                                             long_ago: Callable[[], datetime]) -> None:
    """Three documents, pages of two: the status table is read for each page's keys only (never the whole
    company), and a second run with nothing changed writes nothing."""
    source = make_engine(f"sqlite:///{tmp_path / 'fieldservice.db'}")
    office.send("draft:a", "draft:b", "draft:c", sent_at=long_ago())
    _sync(office)
    statements: list[tuple[str, object]] = []

    @sa.event.listens_for(source, "before_cursor_execute")
    def remember(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        if writeback.TABLE in statement and not statement.lstrip().upper().startswith(("CREATE", "PRAGMA")):
            statements.append((statement.lstrip().split()[0].upper(), parameters))

    assert writeback.write_back(state_engine=office.engine, source_engine=source, tenant=office.tenant,
                                page_size=2) == 3
    reads = [p for kind, p in statements if kind == "SELECT"]
    assert [sum(1 for v in p if v in ("a", "b", "c")) for p in reads] == [2, 1]  # the page's keys, no more
    assert [kind for kind, _ in statements] == ["SELECT", "INSERT", "SELECT", "INSERT"]
    assert _table(source) == {k: ("sent", "draft", None) for k in "abc"}

    statements.clear()
    office.act("draft:b", "finalize")
    _sync(office)
    assert writeback.write_back(state_engine=office.engine, source_engine=source, tenant=office.tenant,
                                page_size=2) == 1
    assert [kind for kind, _ in statements] == ["SELECT", "INSERT", "SELECT"]  # only b's page writes
    assert _table(source)["b"] == ("sent", "overdue", "RE0001")
    source.dispose()
