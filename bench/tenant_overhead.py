"""What a tenant costs Airflow: one night of N tenants with one invoice draft each, on a real Airflow.

A real ``airflow scheduler`` (LocalExecutor), ``dag-processor`` and ``api-server``; metadata and state database
on PostgreSQL; the sandbox over HTTP; the invoices DAG as it ships (stage -> deliver -> status -> report per
tenant group: one tenant each up to 64 tenants, then 64 shared groups). Unpausing the DAG starts its latest
nightly run, whose window holds each tenant's draft. Measured per N: wall time from unpause to the run's end, CPU seconds of every Airflow process and the task processes they ran
(own + reaped children), task instances (one task process each under LocalExecutor), and the state database's
connections (pg_stat_activity, sampled). The per-tenant figures are differences between two N, so the fixed
cost of a run (select_tenants, the scheduler's own loop) cancels the same way on both sides.

    .venv/bin/python -m bench.tenant_overhead --tenants 1,10,100 [--postgres-url URL] [--parallelism 8]

Standalone on purpose (issue 16: bench/ does not import tests.support).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.airflow_stack import Airflow, database, postgres, running_sandbox, seed_world, wait_for

DAG_ID = "lexoffice_invoice_drafts"


def _sample_connections(state_url: str, stop: threading.Event, out: list[int]) -> None:
    database = sa.make_url(state_url).database
    engine = sa.create_engine(sa.make_url(state_url).set(database="postgres"), poolclass=sa.pool.NullPool)
    while not stop.is_set():
        with engine.connect() as conn:
            out.append(conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"),
                                    {"d": database}).scalar_one())
        stop.wait(0.5)


def measure(n: int, *, server: str, sandbox: str, parallelism: int, timeout: float) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix=f"bench-tenants-{n}-"))
    tag = f"tenants_{n}_{os.getpid()}"
    state_url = database(server, f"{tag}_state")
    seed_world(n, sandbox=sandbox, state_url=state_url, home=home)
    metadata_url = database(server, f"{tag}_airflow")
    airflow = Airflow(home, metadata_url, parallelism)
    keep = True  # the Airflow home (task logs) stays for reading unless the night went through
    airflow.start()
    airflow.wait_for_dag(DAG_ID)
    try:
        idle_from, idle_cpu = time.monotonic(), airflow.cpu_seconds()
        time.sleep(30)  # what the idle scheduler, dag-processor and api-server cost, subtracted below
        idle_rate = (airflow.cpu_seconds() - idle_cpu) / (time.monotonic() - idle_from)
        samples: list[int] = []
        stop = threading.Event()
        sampler = threading.Thread(target=_sample_connections, args=(state_url, stop, samples), daemon=True)
        sampler.start()
        cpu0, t0 = airflow.cpu_seconds(), time.monotonic()
        airflow.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})

        def finished() -> dict[str, Any] | None:
            runs = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns")["dag_runs"]
            return runs[0] if runs and runs[0]["state"] in ("success", "failed") else None

        run = wait_for(finished, timeout=timeout, what=f"the night of {n} tenants", every=5)
        wall, cpu = time.monotonic() - t0, airflow.cpu_seconds() - cpu0
        stop.set()
        sampler.join(timeout=10)
        tis = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances",
                          params={"limit": 1})["total_entries"]
        engine = sa.create_engine(state_url, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            sent = conn.execute(sa.text("SELECT count(*) FROM outbox WHERE state = 'sent'")).scalar_one()
        engine.dispose()
        engine = sa.create_engine(metadata_url, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:  # first attempts that failed and were retried (retries=1)
            retried = conn.execute(sa.text("SELECT count(*) FROM task_instance WHERE try_number > 1")).scalar_one()
        engine.dispose()
        keep = run["state"] != "success" or retried > 0
        return {"tenants": n, "state": run["state"], "sent": sent, "retried_task_instances": retried,
                "airflow_home": str(home) if keep else None, "wall_s": round(wall, 1),
                "cpu_s": round(cpu, 1), "idle_cpu_per_s": round(idle_rate, 3),
                "cpu_minus_idle_s": round(cpu - idle_rate * wall, 1), "task_instances": tis,
                "state_db_connections_max": max(samples, default=0),
                "state_db_connections_median": statistics.median(samples) if samples else 0,
                "parallelism": parallelism}
    finally:
        airflow.stop()
        if not keep:
            shutil.rmtree(home, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", default="1,100,2000", help="comma-separated tenant counts")
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--postgres-url", help="a running server's maintenance database (else one is started)")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds one night may take")
    parser.add_argument("--out", type=Path, help="append each result as a JSON line here")
    args = parser.parse_args(argv)
    with running_sandbox() as sandbox_url, postgres(args.postgres_url) as server:
        for n in (int(x) for x in args.tenants.split(",")):
            result = measure(n, server=server, sandbox=sandbox_url, parallelism=args.parallelism,
                             timeout=args.timeout)
            print(json.dumps(result), flush=True)
            if args.out:
                with args.out.open("a") as f:
                    f.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
