"""An API key entered on the page goes where a deployment keeps it: the tenant's Airflow connection (password).

The connection lives in Airflow's metadata DB (what the Connections page edits), so the api-server and every
task runner see the new key. A connection that the deployment defines in the environment or a secrets backend
cannot be changed from here; the page says so instead of storing a key nobody reads.
"""

from __future__ import annotations

import os

from airflow.models.connection import Connection
from airflow.utils.session import create_session

from lexoffice.provider.provider_info import DEFAULT_HOST


class ManagedElsewhere(RuntimeError):
    """The connection is defined outside the metadata DB (environment variable or secrets backend)."""


def _env_key(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def store(conn_id: str, api_key: str) -> None:
    """Create or update the connection's password; this process's copy follows (cli.ensure_connection_visible)."""
    with create_session() as session:
        conn = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
        env_value = os.environ.get(_env_key(conn_id))
        if conn is None and env_value is not None:
            raise ManagedElsewhere(
                f"Die Verbindung {conn_id} ist in der Umgebung ({_env_key(conn_id)}) definiert, nicht in Airflow; "
                "den API-Schlüssel bitte dort ändern (oder die Verbindung unter Admin → Connections anlegen).")
        if conn is None:
            conn = Connection(conn_id=conn_id, conn_type="lexoffice", host=DEFAULT_HOST)
            session.add(conn)
        conn.password = api_key
        session.flush()
        as_json = conn.as_json()
    os.environ[_env_key(conn_id)] = as_json  # this process's copy of the metastore connection, refreshed
