"""`lexoffice tenant connect` finds a connection created in Airflow's metadata DB (UI / `airflow connections
add`), not only environment connections; a missing one is one clear line, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from lexoffice import cli
from lexoffice.state import tenants
from lexoffice.state.db import make_engine
from tests.support.sandbox_server import SandboxServer

ENV_KEY = "AIRFLOW_CONN_LEXOFFICE_DB_ONLY"


def test_connect_with_a_connection_stored_in_the_metastore(
        airflow_db: None, sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    monkeypatch.setenv(ENV_KEY, "placeholder")
    monkeypatch.delenv(ENV_KEY)  # restored (absent) after the test, although the CLI sets it
    org = sandbox.admin("POST", "/organizations", json={"company_name": "Metastore GmbH"})
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == "lexoffice_db_only").delete()
        session.add(Connection(conn_id="lexoffice_db_only", conn_type="lexoffice", host=sandbox.base_url,
                               password=org["api_key"]))
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    assert cli.main(["--state-url", state_url, "tenant", "add", "meta", "--conn-id", "lexoffice_db_only",
                     "--invoice-company", "1"]) == 0
    assert cli.main(["--state-url", state_url, "tenant", "connect", "meta"]) == 0
    assert tenants.get_tenant(make_engine(state_url), "meta").organization_id == org["organization_id"]
    assert "Metastore GmbH" in capsys.readouterr().out

    assert cli.main(["--state-url", state_url, "tenant", "add", "ghost", "--conn-id", "lexoffice_nowhere"]) == 0
    assert cli.main(["--state-url", state_url, "tenant", "connect", "ghost"]) == 2
    err = capsys.readouterr().err
    assert "lexoffice_nowhere" in err and "airflow connections add" in err and "Traceback" not in err
