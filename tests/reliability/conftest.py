"""Fixtures of the reliability suite, and the one summary table printed at the end of the session.

Each test gets a world of its own (sandbox organisations, state and source databases, Airflow connections in
the environment), like tests/e2e, but from ``ReliabilityWorld``, which can also rerun until settled, inject
faults, shorten the client's timeout and connect OAuth tenants.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.ledger import LEDGER
from tests.reliability.world import ReliabilityWorld, build_world
from tests.support.sandbox_server import SandboxServer


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's metadata DB, migrated once per session (tests/e2e may have done it already)."""
    import sqlalchemy as sa
    from airflow import settings
    from airflow.utils import db

    if not sa.inspect(settings.engine).has_table("dag_run"):
        db.resetdb()


@pytest.fixture
def make_world(airflow_db: None, sandbox: SandboxServer, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Callable[..., ReliabilityWorld]:
    """Build the world; any database may be given as a URL (e.g. on the PostgreSQL server), else SQLite files."""

    def make(**urls: str) -> ReliabilityWorld:
        return build_world(sandbox, tmp_path, monkeypatch, **urls)

    return make


@pytest.fixture
def world(make_world: Callable[..., ReliabilityWorld]) -> ReliabilityWorld:
    return make_world()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not LEDGER.rows:
        return
    terminalreporter.write_sep("=", "reliability summary: duplicates and lost must be 0 in every row")
    terminalreporter.write_line(LEDGER.table())
    written = LEDGER.write_if_asked()
    if written:
        terminalreporter.write_line(f"summary written to {written}")
