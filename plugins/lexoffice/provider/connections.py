"""Airflow connections -> SQLAlchemy engines and Lexware clients.

The source and state databases are ordinary Airflow connections (``sqlite`` for the embedded demo,
``postgres`` in production). Any connection may instead carry ``{"sqlalchemy_url": ...}`` in its extra.
"""

from __future__ import annotations

import functools
import os
from typing import Any
from urllib.parse import quote

STATE_CONN_ID = os.environ.get("LEXOFFICE_STATE_CONN_ID", "lexoffice_state")
FIELDSERVICE_CONN_ID = os.environ.get("LEXOFFICE_FIELDSERVICE_CONN_ID", "lexoffice_fieldservice")
BANK_CONN_ID = os.environ.get("LEXOFFICE_BANK_CONN_ID", "lexoffice_bank")


def sqlalchemy_url(conn: Any) -> str:
    """SQLAlchemy URL of an Airflow connection (sqlite, postgres, or an explicit ``sqlalchemy_url`` extra)."""
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else {}
    if extra.get("sqlalchemy_url"):
        return str(extra["sqlalchemy_url"])
    conn_type = (conn.conn_type or "").lower()
    if conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    if conn_type in ("postgres", "postgresql"):
        auth = quote(conn.login or "", safe="")
        if conn.password:
            auth += ":" + quote(conn.password, safe="")
        host = f"{conn.host or 'localhost'}:{conn.port or 5432}"
        return f"postgresql+psycopg://{auth + '@' if auth else ''}{host}/{conn.schema or ''}"
    raise ValueError(
        f"connection {conn.conn_id!r} has type {conn.conn_type!r}; use 'postgres' or 'sqlite', or put "
        "{\"sqlalchemy_url\": \"...\"} in its extra"
    )


def engine_for(conn_id: str) -> Any:
    """The engine of an Airflow connection; one per database URL and process (engines pool connections)."""
    from airflow.sdk import Connection

    return engine_for_url(sqlalchemy_url(Connection.get(conn_id)))


@functools.lru_cache(maxsize=32)
def engine_for_url(url: str) -> Any:
    from lexoffice.state.db import make_engine

    return make_engine(url)


def state_engine() -> Any:
    from lexoffice.state.db import require_current_schema

    engine = engine_for(STATE_CONN_ID)
    require_current_schema(engine)
    return engine


def rate_limiter(engine: Any) -> Any:
    """The limiter the DAGs send with: one slot schedule per Lexware organisation in the state DB, shared by every
    process, ``SAFE_INTERVAL_SECONDS`` apart."""
    from lexoffice.client.throttle import SAFE_INTERVAL_SECONDS
    from lexoffice.state.locks import DbRateLimiter

    return DbRateLimiter(engine, interval_seconds=SAFE_INTERVAL_SECONDS)


def client_factory(engine: Any):  # noqa: ANN201 - returns a callable(tenant) -> LexofficeClient
    """Clients for tenants: OAuth tokens in the state DB, one rate budget per Lexware organisation across processes."""
    limiter = rate_limiter(engine)
    return lambda tenant: tenant_hook(engine, tenant, limiter=limiter).get_client()


def tenant_hook(engine: Any, tenant: Any, *, limiter: Any = None) -> Any:
    """The tenant's LexofficeHook: OAuth tokens in the state DB, the rate budget of its Lexware organisation
    (shared by every process that sends to it)."""
    from lexoffice.provider.hooks import LexofficeHook
    from lexoffice.state.tokens import DbTokenStore

    store = DbTokenStore(engine) if tenant.auth_mode == "oauth" else None
    return LexofficeHook(tenant.lexoffice_conn_id, token_store=store,
                         rate_limiter=limiter or rate_limiter(engine),
                         rate_key=tenant.organization_id or tenant.tenant_id)
