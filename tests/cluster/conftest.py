"""Fixtures of the cluster tests: a CeleryExecutor cluster (tests/cluster/cluster.py) and a world (sandbox
organisations, state and source databases on the cluster's PostgreSQL) to seed before it starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.cluster import WORKERS, Cluster, ClusterWorld
from tests.support.postgres import PostgresServer
from tests.support.sandbox_server import SandboxServer
from tests.support.world import World

FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture
def cluster_world(postgres_server: PostgresServer, sandbox: SandboxServer, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[ClusterWorld]:
    """A migrated, not yet started cluster and its world; seed the world, then ``cluster.start()``.

    Every process the cluster started is stopped afterwards; on a failure the ends of their logs are printed.
    """
    from demo.source_db import create_schema

    folder = tmp_path / "cluster"
    folder.mkdir()
    cluster = Cluster.create(folder, postgres_server, workers=WORKERS)
    ep = cluster.endpoints
    world = World(sandbox=sandbox, tmp=tmp_path, monkeypatch=monkeypatch, state_url=cluster.url(ep.state_db),
                  fieldservice_url=cluster.url(ep.fieldservice_db), bank_url=cluster.url(ep.bank_db))
    create_schema(world.engine(world.fieldservice_url), "fieldservice")
    create_schema(world.engine(world.bank_url), "bank")
    try:
        yield ClusterWorld(cluster, world)
    finally:
        cluster.stop()
        if request.node.stash.get(FAILED, False):
            print(f"\n---- cluster logs (folder {folder}) ----\n{cluster.log_tails()}")
            print(cluster.failed_task_logs())
