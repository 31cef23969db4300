"""Databases for module-scoped fixtures: the shared ``engine`` fixture is per test, which is too slow
when one module inserts a hundred scenarios once and asserts on them many times."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

DIALECTS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def database_url(dialect: str, request: pytest.FixtureRequest, folder: Path) -> str:
    if dialect == "sqlite":
        return f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.sqlite'}"
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"m_{uuid.uuid4().hex[:12]}")


class EngineCache:
    """One engine per dialect for a module, built on first use by ``setup``."""

    def __init__(self, setup: Callable[[sa.Engine, str], object]) -> None:
        self.setup = setup
        self.built: dict[str, tuple[sa.Engine, object]] = {}

    def get(self, dialect: str, request: pytest.FixtureRequest, folder: Path) -> tuple[sa.Engine, object]:
        if dialect not in self.built:
            engine = sa.create_engine(database_url(dialect, request, folder))
            self.built[dialect] = (engine, self.setup(engine, dialect))
        return self.built[dialect]

    def dispose(self) -> None:
        for engine, _ in self.built.values():
            engine.dispose()
