"""The state database and the source database unavailable, at the start of a run and for a moment mid-run.

A run that cannot reach a database fails (so alerting fires) and leaves everything as it was or in a state the
next run settles: nothing is sent twice, nothing is lost. PostgreSQL outages are real (the session's server is
stopped and started again); a source that cannot be opened is a connection pointing at a missing path.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.reliability import outage
from tests.reliability.audit import audit
from tests.reliability.processes import wait_until
from tests.reliability.scenarios import invoice_batch, transaction_batch
from tests.reliability.world import ReliabilityWorld, conn_json
from tests.support.postgres import PostgresServer

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(180)]


def _nothing_sent(world: ReliabilityWorld, tenant: str, kind: str) -> None:
    assert world.lexware(tenant, kind) == [], "something was sent while a database was unavailable"


def test_state_database_down_at_the_start_of_a_run(make_world: Callable[..., ReliabilityWorld],
                                                  postgres_server: PostgresServer, postgres_url: str) -> None:
    world = make_world(state=postgres_url)
    tenant = "statedown"
    batch = transaction_batch(world, tenant)

    with outage.down(postgres_server):
        first = world.run_dag(batch.dag_id, **batch.run_kwargs())
    assert str(first.state) == "failed"
    _nothing_sent(world, tenant, "transactions")
    runs = world.run_until_settled(batch.dag_id, tenant, batch.stream, **batch.run_kwargs())
    assert runs == ["success"], runs  # once the fault is gone, one clean run settles it

    outcome = audit(world, tenant, batch.stream, case="state DB (PostgreSQL) down at the start of a run",
                    valid=batch.valid, invalid=batch.invalid)
    outcome.notes += ["first run failed before reading anything", f"runs: failed, {', '.join(runs)}"]
    outcome.check(expected_reasons=batch.invalid.values())


def test_source_database_unreachable_at_the_start_of_a_run(world: ReliabilityWorld) -> None:
    tenant = "srcgone"
    batch = invoice_batch(world, tenant)
    missing = world.tmp / "unmounted-volume" / "fieldservice.db"
    world.monkeypatch.setenv("AIRFLOW_CONN_LEXOFFICE_FIELDSERVICE", conn_json(f"sqlite:///{missing}"))
    first = world.run_dag(batch.dag_id, **batch.run_kwargs())
    assert str(first.state) == "failed"
    assert world.outbox(tenant, batch.stream) == []
    _nothing_sent(world, tenant, "invoices")

    world.monkeypatch.setenv("AIRFLOW_CONN_LEXOFFICE_FIELDSERVICE", conn_json(world.fieldservice_url))
    runs = world.run_until_settled(batch.dag_id, tenant, batch.stream, **batch.run_kwargs())
    assert runs == ["success"], runs  # once the fault is gone, one clean run settles it

    outcome = audit(world, tenant, batch.stream, case="source DB unreachable at the start of a run",
                    valid=batch.valid, invalid=batch.invalid)
    outcome.notes += ["first run failed in stage, nothing staged", f"runs: failed, {', '.join(runs)}"]
    outcome.check(expected_reasons=batch.invalid.values())


def test_state_database_down_while_a_post_is_answered(make_world: Callable[..., ReliabilityWorld],
                                                      postgres_server: PostgresServer, postgres_url: str) -> None:
    """The worst moment: Lexware committed the invoice, and the outbox cannot record it."""
    world = make_world(state=postgres_url)
    world.monkeypatch.setenv("LEXOFFICE_LEASE_TTL_SECONDS", "3")  # the failed sender cannot release its lease
    tenant = "statemid"
    batch = invoice_batch(world, tenant)
    delay = 3.0  # long enough for pg_ctl to stop the server before the answer arrives, even on a busy box
    world.inject(mode="slow_after_commit", method="POST", path="/v1/invoices", count=1, delay_seconds=delay)
    errors: list[BaseException] = []

    def outage_while_answered() -> None:
        try:
            wait_until(lambda: bool(world.lexware(tenant, "invoices")), timeout=60, what="the first invoice")
            with outage.down(postgres_server):
                time.sleep(delay + 1.0)  # the answer arrives while the state DB is down
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    watcher = threading.Thread(target=outage_while_answered, daemon=True)
    watcher.start()
    try:
        first = world.run_dag(batch.dag_id, **batch.run_kwargs())
    finally:
        watcher.join(timeout=60)
        outage.ensure_running(postgres_server)
    assert not errors, errors
    assert str(first.state) == "failed"
    assert [str(r.state) for r in world.outbox(tenant, batch.stream)].count("sending") == 1

    runs = world.run_until_settled(batch.dag_id, tenant, batch.stream, **batch.run_kwargs())

    assert runs == ["success"], runs  # once the fault is gone, one clean run settles it

    assert world.delivery_totals(tenant, batch.stream).get("reconciled_sent") == 1
    outcome = audit(world, tenant, batch.stream, case="state DB (PostgreSQL) down while a POST is answered",
                    valid=batch.valid, invalid=batch.invalid)
    outcome.notes += ["committed invoice left 'sending', reconciled as sent after the lease expired",
                      f"runs: failed, {', '.join(runs)}"]
    outcome.check(expected_reasons=batch.invalid.values())


def test_source_database_down_between_stage_and_deliver(make_world: Callable[..., ReliabilityWorld],
                                                        postgres_server: PostgresServer) -> None:
    """Deliver reads the source again (licence and accounting software of the company) before sending."""
    source_url = postgres_server.create_database(f"src_{int(time.time() * 1000)}")
    world = make_world(fieldservice=source_url)
    tenant = "srcmid"
    batch = invoice_batch(world, tenant)

    def source_goes_down(context: dict[str, Any]) -> None:
        outage.stop(postgres_server)

    def after_stage_the_source_goes_down(dag: Any) -> None:
        dag.get_task("tenant.stage").on_success_callback = [source_goes_down]

    try:
        first = world.run_dag(batch.dag_id, prepare=after_stage_the_source_goes_down, **batch.run_kwargs())
    finally:
        outage.ensure_running(postgres_server)
    assert str(first.state) == "failed"
    assert {str(r.state) for r in world.outbox(tenant, batch.stream)} == {"pending", "invalid"}
    _nothing_sent(world, tenant, "invoices")

    runs = world.run_until_settled(batch.dag_id, tenant, batch.stream, **batch.run_kwargs())

    assert runs == ["success"], runs  # once the fault is gone, one clean run settles it

    outcome = audit(world, tenant, batch.stream, case="source DB (PostgreSQL) down between stage and deliver",
                    valid=batch.valid, invalid=batch.invalid)
    outcome.notes += ["first run staged, then failed in deliver's preflight; nothing sent",
                      f"runs: failed, {', '.join(runs)}"]
    outcome.check(expected_reasons=batch.invalid.values())
