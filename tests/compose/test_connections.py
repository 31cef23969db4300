"""The connections docker-compose.yaml gives the Airflow containers, read by Airflow and the project themselves.

Each value goes through Airflow's own environment-variable backend (what the tasks and the ``lexoffice``
command use in the containers), then through the project's URL builder or ``LexofficeHook``: a connection that
points at a database nobody creates, or a tenant the client would refuse to talk to, fails here instead of
after a ``docker compose up``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import sqlalchemy as sa

from tests.compose.compose_file import ROOT, TEST_SECRETS, environment, load


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return load(TEST_SECRETS)["services"]


def _airflow_connection(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], conn_id: str) -> Any:
    """The connection exactly as Airflow's environment-variable backend builds it inside the containers."""
    from airflow.secrets.environment_variables import EnvironmentVariablesBackend

    name = f"AIRFLOW_CONN_{conn_id.upper()}"
    assert name in env, f"{name} is not set for the Airflow services"
    monkeypatch.setenv(name, env[name])
    conn = EnvironmentVariablesBackend().get_connection(conn_id)
    assert conn is not None
    return conn


def _init_sql_databases() -> set[str]:
    sql = (ROOT / "docker" / "postgres" / "init-databases.sql").read_text(encoding="utf-8")
    return set(re.findall(r"^\s*CREATE DATABASE\s+\"?([A-Za-z0-9_]+)\"?\s*;", sql, flags=re.M | re.I))


def test_state_and_source_connections_point_at_databases_the_postgres_init_creates(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lexoffice.provider.connections import BANK_CONN_ID, FIELDSERVICE_CONN_ID, STATE_CONN_ID, sqlalchemy_url

    env = environment(services["airflow-worker"])
    created = _init_sql_databases()
    postgres_env = environment(services["postgres"])
    for conn_id in (STATE_CONN_ID, FIELDSERVICE_CONN_ID, BANK_CONN_ID):
        url = sa.make_url(sqlalchemy_url(_airflow_connection(monkeypatch, env, conn_id)))
        assert url.drivername == "postgresql+psycopg"
        assert (url.host, url.port) == ("postgres", 5432)
        assert (url.username, url.password) == (postgres_env["POSTGRES_USER"], postgres_env["POSTGRES_PASSWORD"])
        assert url.database in created, f"{conn_id} uses {url.database}, which init-databases.sql does not create"
    assert len(created) == 3


def test_postgres_runs_the_database_init_script_on_first_start(services: dict[str, Any]) -> None:
    mounts = [v.split(":") for v in services["postgres"]["volumes"]]
    scripts = [(host, target) for host, target, *_ in mounts if target.startswith("/docker-entrypoint-initdb.d/")]
    assert scripts == [("./docker/postgres/init-databases.sql",
                        "/docker-entrypoint-initdb.d/10-lexoffice-databases.sql")]
    assert (ROOT / scripts[0][0]).is_file()


def test_demo_tenant_connections_reach_the_sandbox_over_http_on_purpose(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lexoffice.client.errors import InsecureTransportError
    from lexoffice.provider.hooks import LexofficeHook, api_base_url

    env = environment(services["airflow-worker"])
    port = environment(services["sandbox"])["SANDBOX_PORT"]
    monkeypatch.syspath_prepend(str(ROOT / "docker"))
    from lexoffice_init import DEMO_TENANTS as tenants

    assert tenants
    for tenant in tenants:
        conn = _airflow_connection(monkeypatch, env, tenant.conn_id)
        assert conn.conn_type == "lexoffice"
        assert api_base_url(conn.host, conn.port) == f"http://sandbox:{port}"
        assert conn.password and not conn.login, "a demo tenant uses an API key"
        assert conn.extra_dejson.get("allow_insecure_http") is True
        LexofficeHook(tenant.conn_id).get_client().close()  # accepted: plain http is allowed for it
        # Without the extra the client refuses: that is why the compose file sets it.
        strict = json.loads(env[f"AIRFLOW_CONN_{tenant.conn_id.upper()}"])
        strict.pop("extra")
        monkeypatch.setenv(f"AIRFLOW_CONN_{tenant.conn_id.upper()}", json.dumps(strict))
        with pytest.raises(InsecureTransportError):
            LexofficeHook(tenant.conn_id).get_client()


