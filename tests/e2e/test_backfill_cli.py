"""`airflow backfill create` with the real scheduler (airflow standalone: scheduler, dag-processor, api-server,
LocalExecutor): it re-reads past windows and sends only what is missing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT
from tests.support import sources as src
from tests.support.sandbox_server import free_port
from tests.support.world import World

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]  # the waits below add up to 780 s

DAG_ID = "lexoffice_invoice_drafts"
BIN = Path(sys.executable).parent


def _airflow(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "airflow"), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=180, check=check)


def _backfill_runs(metadata_db: Path) -> list[dict[str, str]]:
    """The backfill runs as the scheduler recorded them (read from the metadata DB: the CLI's JSON output is
    interleaved with warnings, and each CLI call costs seconds)."""
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{metadata_db}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT run_id, state FROM dag_run WHERE dag_id = :d AND run_type = 'backfill'"),
                                {"d": DAG_ID}).mappings().all()
    except sa.exc.OperationalError:
        return []
    finally:
        engine.dispose()
    return [dict(r) for r in rows]


def _wait(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}")


def test_backfill_create_sends_only_what_is_missing(world: World, tmp_path: Path) -> None:
    fs = world.engine(world.fieldservice_url)
    src.company(fs, "c1")
    src.customer(fs, "k1", "c1")
    for day in ("05", "06", "07"):
        src.draft(fs, f"d{day}", "c1", "k1", created=f"2026-10-{day}")
    world.add_tenant("nord", company_id="c1")
    # The nightly run of the 5th already happened before the outage.
    from tests.e2e.test_invoice_drafts_dag import nightly

    assert str(world.run_dag(DAG_ID, logical_date=nightly("2026-10-05")).state) == "success"
    assert len(world.lexware("nord", "invoices")) == 1

    port = free_port()
    env = {**os.environ,
           "AIRFLOW_HOME": str(tmp_path / "standalone"),
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'standalone.db'}",
           "AIRFLOW__API__PORT": str(port),
           "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
           "AIRFLOW__CORE__PARALLELISM": "4",
           "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    server = subprocess.Popen([str(BIN / "airflow"), "standalone"], env=env, cwd=ROOT, start_new_session=True,
                              stdout=open(tmp_path / "standalone.log", "w"), stderr=subprocess.STDOUT)
    try:
        def healthy() -> bool:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=2).json()
                return all(health.get(k, {}).get("status") == "healthy" for k in ("scheduler", "dag_processor"))
            except (requests.RequestException, ValueError):
                return False

        _wait(healthy, 240, "airflow standalone to be healthy")
        _wait(lambda: _airflow(env, "dags", "details", DAG_ID, check=False).returncode == 0, 120,
              "the dag processor to parse the DAG")
        # Logical dates are the interval starts (03:00 Berlin), and --to-date is inclusive of logical dates at
        # midnight UTC, so the night of the 7th needs 2026-10-08. The backfill is created while the DAG is still
        # paused (its runs wait queued), then the DAG is unpaused: unpausing also schedules today's run, and on
        # SQLite a backfill written while the scheduler works on that run can crash the scheduler's loop
        # (StaleDataError on dag_run, seen on a loaded machine).
        # On SQLite, Airflow refuses backfill creation while the scheduler holds the database ("Database is
        # locked ... not supported on SQLite under concurrent access"); a retry goes through.
        for _attempt in range(6):
            created = _airflow(env, "backfill", "create", "--dag-id", DAG_ID, "--from-date", "2026-10-05",
                               "--to-date", "2026-10-08", check=False)
            if created.returncode == 0:
                break
            time.sleep(3)
        assert created.returncode == 0, created.stdout[-2000:] + created.stderr[-2000:]
        _airflow(env, "dags", "unpause", DAG_ID)

        metadata_db = tmp_path / "standalone.db"

        def finished() -> bool:
            runs = _backfill_runs(metadata_db)
            return len(runs) == 3 and all(r["state"] in ("success", "failed") for r in runs)

        _wait(finished, 420, "three backfill runs to finish")
        runs = _backfill_runs(metadata_db)
        assert {r["state"] for r in runs} == {"success"}, runs
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)

    invoices = world.lexware("nord", "invoices")
    assert sorted(inv["remark"].split("lxa:")[-1] for inv in invoices) == sorted(
        r.doc_key for r in world.outbox("nord", "invoices"))
    assert len(invoices) == 3  # the 5th was not sent again; the 6th and 7th were sent once
    assert set(world.states("nord", "invoices").values()) == {"sent"}
