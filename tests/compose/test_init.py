"""docker/lexoffice_init.py and docker/postgres/init-databases.sql against a real PostgreSQL and the sandbox.

The compose stack cannot run here (no Docker engine), so its init runs on the parts it would meet in the
containers: the connections are the compose file's own values with only the host names changed
(``postgres`` -> the test server, ``sandbox`` -> the test sandbox), the databases are the ones the init SQL
creates, and the demo tenants connect over real HTTP. A second run must change nothing, and must not undo a
disconnect.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.compose.compose_file import ROOT, TEST_SECRETS, environment, load
from tests.support.postgres import PostgresServer
from tests.support.sandbox_server import SandboxServer

pytestmark = pytest.mark.postgres
INIT_SQL = ROOT / "docker" / "postgres" / "init-databases.sql"


@pytest.fixture
def init_module(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(ROOT / "docker"))
    sys.modules.pop("lexoffice_init", None)
    import lexoffice_init

    return lexoffice_init


@pytest.fixture
def init_databases(postgres_server: PostgresServer) -> Iterator[list[str]]:
    """The databases exactly as the postgres service creates them on its first start (dropped afterwards)."""
    code = "\n".join(ln for ln in INIT_SQL.read_text(encoding="utf-8").splitlines() if not ln.startswith("--"))
    statements = [s.strip() for s in code.split(";") if s.strip()]
    names = [s.split()[-1] for s in statements]
    admin = sa.create_engine(postgres_server.url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            for statement in statements:
                conn.execute(sa.text(statement))
        yield names
    finally:
        from lexoffice.provider.connections import engine_for_url

        engine_for_url.cache_clear()
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _compose_env_for(postgres_server: PostgresServer, sandbox: SandboxServer) -> dict[str, str]:
    """The Airflow containers' connection variables, with the compose host names pointed at the test servers."""
    worker = environment(load(TEST_SECRETS)["services"]["airflow-worker"])
    out = {}
    for name, value in worker.items():
        if not name.startswith("AIRFLOW_CONN_"):
            continue
        value = value.replace("airflow:airflow@postgres:5432", f"postgres@127.0.0.1:{postgres_server.port}")
        out[name] = value.replace("http://sandbox:8765", sandbox.base_url)
    return out


def _tenants(url: str) -> dict[str, Any]:
    from lexoffice.state.db import make_engine
    from lexoffice.state.tenants import list_tenants

    state = make_engine(url)
    try:
        return {t.tenant_id: t for t in list_tenants(state)}
    finally:
        state.dispose()


def _row_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                    for t in sa.inspect(conn).get_table_names()}
    finally:
        engine.dispose()


def test_init_prepares_everything_the_dags_need_once(
    init_module: Any, init_databases: list[str], postgres_server: PostgresServer, sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    env = _compose_env_for(postgres_server, sandbox)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert sorted(init_databases) == ["bank_demo", "fieldservice_demo", "lexoffice_state"]

    assert init_module.main(["--demo"]) == 0

    state_url, fieldservice_url, bank_url = (postgres_server.url(db)
                                             for db in ("lexoffice_state", "fieldservice_demo", "bank_demo"))
    tenants = _tenants(state_url)
    assert set(tenants) == {t.tenant_id for t in init_module.DEMO_TENANTS}
    for spec in init_module.DEMO_TENANTS:
        tenant = tenants[spec.tenant_id]
        assert tenant.connected and tenant.organization_id == spec.organization_id
        assert tenant.export_since.isoformat() == init_module.DEMO_START
        assert (tenant.invoice_company_id, tenant.bank_company_id) == (spec.invoice_company_id,
                                                                        spec.bank_company_id)
        assert tenant.lexoffice_conn_id == spec.conn_id
    fieldservice, bank = _row_counts(fieldservice_url), _row_counts(bank_url)
    assert fieldservice["invoice_drafts"] > 0 and bank["transactions"] > 0
    # The tenants' companies are the ones the demo generated.
    with sa.create_engine(fieldservice_url).connect() as conn:
        companies = set(conn.execute(sa.text("SELECT id FROM companies")).scalars())
    assert {t.invoice_company_id for t in init_module.DEMO_TENANTS} <= companies
    with sa.create_engine(bank_url).connect() as conn:
        customers = set(conn.execute(sa.text("SELECT id FROM bank_customers")).scalars())
    assert {t.bank_company_id for t in init_module.DEMO_TENANTS} <= customers
    organisations = sandbox.admin("GET", "/stats")["organizations"]
    assert {t.organization_id for t in init_module.DEMO_TENANTS} <= set(organisations)
    assert "ready" in capsys.readouterr().out

    # A person disconnects a tenant; a later `docker compose up` runs the init again.
    from lexoffice.cli import main as lexoffice

    assert lexoffice(["--state-url", state_url, "tenant", "disconnect", "nordschutz"]) == 0
    assert init_module.main(["--demo"]) == 0
    assert not _tenants(state_url)["nordschutz"].connected, "the init must not reconnect a disconnected tenant"
    assert _tenants(state_url)["rheinpflege"].connected
    assert _row_counts(fieldservice_url) == fieldservice, "demo data was seeded twice"
    assert _row_counts(bank_url) == bank


def test_init_without_demo_only_prepares_the_state_database(
    init_module: Any, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "lexoffice_state_nodemo"
    admin = sa.create_engine(postgres_server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    try:
        # The database does not exist yet: an old postgres volume. The init creates it, then its tables.
        monkeypatch.setenv("AIRFLOW_CONN_LEXOFFICE_STATE",
                           f"postgres://postgres@127.0.0.1:{postgres_server.port}/{name}")
        monkeypatch.delenv("AIRFLOW_CONN_LEXOFFICE_FIELDSERVICE", raising=False)
        monkeypatch.setenv("LEXOFFICE_DEMO", "false")
        assert init_module.main([]) == 0
        url = postgres_server.url(name)
        assert _tenants(url) == {}
        assert {"tenants", "outbox"} <= set(_row_counts(url))
    finally:
        from lexoffice.provider.connections import engine_for_url

        engine_for_url.cache_clear()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

