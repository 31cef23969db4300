"""UI fixtures: Airflow's real api-server app (plugins mounted through the entry point, the real auth manager),
the DAGs serialised into the metadata DB so runs can be created, and users with each SimpleAuthManager role."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from tests.e2e.conftest import airflow_db, world  # noqa: F401 - fixtures reused by the UI tests
from tests.support.world import World

ROLES = ("viewer", "user", "op", "admin")
# Airflow reads this when it signs the first token; a test-only secret long enough for HS512
os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", "ui-tests-only-" + "s" * 64)


@pytest.fixture(scope="session")
def airflow_app(airflow_db: None) -> Any:  # noqa: F811
    from airflow.api_fastapi.app import create_app, purge_cached_app

    from tests.ui.support import sync_dags

    sync_dags()
    purge_cached_app()
    return create_app(apps="core")


@pytest.fixture
def client(airflow_app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from tests.ui.support import delete_runs

    delete_runs()  # the metadata DB lives for the session; each test starts without runs

    with TestClient(airflow_app, base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def tokens(airflow_app: Any) -> dict[str, str]:
    """A JWT per role, as the api-server's login would issue it."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    manager = get_auth_manager()
    return {role: manager.generate_jwt(SimpleAuthManagerUser(username=f"{role}-person", role=role))
            for role in ROLES}


@pytest.fixture
def drafts_world(world: World) -> World:  # noqa: F811
    """One tenant with three drafts: two valid (D1, D2), one without customer (D3, invalid)."""
    from tests.support.ui_browser import add_drafts

    world.add_tenant("acme", company_id="C1", export_since=date(2026, 10, 1))
    add_drafts(world, "C1", [("D1", "RE-1", "K1"), ("D2", "RE-2", "K1"), ("D3", "RE-3", None)])
    return world
