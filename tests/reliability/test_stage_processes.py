"""LEXOFFICE_STAGE_PROCESSES inside real DAG runs (``dag.test()``) on PostgreSQL: the stage task starts its
staging processes, and every document still reaches Lexware exactly once (run twice: nothing more)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from tests.reliability.audit import audit
from tests.reliability.scenarios import batch_for
from tests.reliability.world import ReliabilityWorld
from tests.source.staged import staging_processes
from tests.support.postgres import PostgresServer

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(240)]


@contextmanager
def stage_processes_seen() -> Iterator[list[int]]:
    """Pids of ``lexoffice.parallel_stage`` children seen while the block runs (polled every 10 ms)."""
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.01):
            seen.extend(child.pid for child in staging_processes() if child.pid not in seen)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield seen
    finally:
        stop.set()
        watcher.join()


@pytest.mark.parametrize("stream", ["invoices", "transactions"])
def test_a_dag_run_stages_in_two_processes_and_sends_each_document_once(
        make_world: Callable[..., ReliabilityWorld], postgres_server: PostgresServer,
        monkeypatch: pytest.MonkeyPatch, stream: str) -> None:
    urls = {name: postgres_server.create_database(f"procs_{name}_{uuid.uuid4().hex[:8]}")
            for name in ("state", "fieldservice", "bank")}
    world = make_world(**urls)
    monkeypatch.setenv("LEXOFFICE_STAGE_PROCESSES", "2")
    tenant = f"procs-{stream}"
    batch = batch_for(world, tenant, stream)

    with stage_processes_seen() as pids:
        first = world.run_dag(batch.dag_id, **batch.run_kwargs())
    assert str(first.state) == "success"
    assert len(pids) == 2, "the stage task did not stage in two processes"

    again = world.run_dag(batch.dag_id, **batch.run_kwargs())
    assert str(again.state) == "success"
    outcome = audit(world, tenant, batch.stream, case=f"{stream} staged by 2 processes in DAG runs, run twice",
                    valid=batch.valid, invalid=batch.invalid)
    outcome.check(expected_reasons=batch.invalid.values())
