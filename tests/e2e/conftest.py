"""End-to-end fixtures: a migrated Airflow metadata DB (SQLite file) and a fresh world per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sandbox_server import SandboxServer
from tests.support.world import World


@pytest.fixture(scope="session")
def airflow_db() -> None:
    from airflow.utils import db

    db.resetdb()


@pytest.fixture
def world(airflow_db: None, sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    import json

    urls = {name: f"sqlite:///{tmp_path / (name + '.db')}" for name in ("state", "fieldservice", "bank")}
    for name, url in urls.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_LEXOFFICE_{name.upper()}", json.dumps({"conn_type": "sqlite",
                                                                                  "host": url[len("sqlite:///"):]}))
    w = World(sandbox=sandbox, tmp=tmp_path, monkeypatch=monkeypatch, state_url=urls["state"],
              fieldservice_url=urls["fieldservice"], bank_url=urls["bank"])
    from demo.source_db import create_schema

    create_schema(w.engine(w.fieldservice_url), "fieldservice")
    create_schema(w.engine(w.bank_url), "bank")
    yield w
