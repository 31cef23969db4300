"""Fixtures for the state database tests.

``db_url`` keeps the project's parametrisation (a SQLite file, and a real PostgreSQL server), but the
PostgreSQL tests here share one database whose schema is created once and which is emptied before each
test: creating a database and its schema per test costs about half a second, and this suite has many
small tests. Tests that need a truly fresh database (schema creation itself) use ``postgres_url``.
"""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from lexoffice.state import make_engine
from lexoffice.state.db import init_db
from lexoffice.state.schema import metadata
from lexoffice.state.tenants import add_tenant
from tests.support.postgres import PostgresServer

TENANT = "acme"


@pytest.fixture(scope="session")
def shared_postgres_url(postgres_server: PostgresServer) -> str:
    url = postgres_server.create_database(f"state_{uuid.uuid4().hex[:10]}")
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    return url


def _empty_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL lock_timeout = '10s'"))  # a leaked transaction fails loudly
            tables = ", ".join(t.name for t in metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """Once on SQLite (a file), once on PostgreSQL (the shared, emptied database)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite'}"
    url: str = request.getfixturevalue("shared_postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """The state package's own engine setup, with the schema in place."""
    eng = make_engine(db_url)
    init_db(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def tenant(engine: sa.Engine) -> str:
    add_tenant(engine, tenant_id=TENANT, name="Acme Schädlingsbekämpfung GmbH & Co. KG", lexoffice_conn_id="lex_acme")
    return TENANT
