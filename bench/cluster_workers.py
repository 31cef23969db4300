"""``python -m bench.cluster_workers``: both DAGs for 8 tenants on a CeleryExecutor cluster with 1, then 2
workers (issue 19), and where the time goes.

Each configuration gets a fresh cluster (tests/cluster/cluster.py: Redis, PostgreSQL, api-server, scheduler,
dag-processor, ``airflow celery worker``s) and a fresh sandbox organisation per tenant (2 requests/s each).
Measured from the trigger of both DAGs to the end of both runs (no faults): wall time, task instances, the
task processes' summed wall time (their occupancy of worker slots), the slowest tenant's deliver task, the
requests the sandbox received, real 429s (must be 0), and the peak number of PostgreSQL connections per
database (sampled once a second). Prints one Markdown row per configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.cluster.cluster import Cluster, WorkerSpec, wait_for
from tests.cluster.tenants import NIGHT, seed_tenants, tenant_connections
from tests.support.postgres import PostgresServer
from tests.support.sandbox_server import SandboxServer
from tests.support.world import World

DAGS = ("lexoffice_invoice_drafts", "lexoffice_transactions")


def run_once(workers: int, *, tenants: int, docs: int, concurrency: int, sandbox: SandboxServer) -> dict[str, Any]:
    from demo.source_db import create_schema

    sandbox.reset()
    postgres = PostgresServer.start()
    folder = Path(tempfile.mkdtemp(prefix=f"bench-cluster-{workers}w-"))
    monkeypatch = pytest.MonkeyPatch()
    cluster = Cluster.create(folder, postgres, workers=[WorkerSpec(f"worker-{i + 1}", concurrency)
                                                         for i in range(workers)])
    try:
        ep = cluster.endpoints
        world = World(sandbox=sandbox, tmp=folder, monkeypatch=monkeypatch, state_url=cluster.url(ep.state_db),
                      fieldservice_url=cluster.url(ep.fieldservice_db), bank_url=cluster.url(ep.bank_db))
        create_schema(world.engine(world.fieldservice_url), "fieldservice")
        create_schema(world.engine(world.bank_url), "bank")
        seed_tenants(world, tenants, per_day={NIGHT: docs})
        cluster.env.update(tenant_connections(world))
        cluster.start()
        for dag_id in DAGS:
            cluster.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        runs = [(dag_id, cluster.api("POST", f"/dags/{dag_id}/dagRuns", json={
            "logical_date": None, "conf": {"from_date": NIGHT, "to_date": NIGHT}})["dag_run_id"]) for dag_id in DAGS]

        peak_connections: dict[str, int] = {}

        def finished() -> bool:
            with cluster.metadata() as conn:  # connections per database, sampled once a second
                for db, count in conn.execute(sa.text(
                        "SELECT datname, count(*) FROM pg_stat_activity WHERE datname IS NOT NULL GROUP BY datname")):
                    peak_connections[db] = max(peak_connections.get(db, 0), int(count))
            states = {(r["dag_id"], r["run_id"]): r["state"] for r in cluster.dag_runs()}
            return all(states.get(run) in ("success", "failed") for run in runs)

        wait_for(finished, timeout=1800, what="both runs to finish", poll=1)
        wall = time.monotonic() - started
        states = {(r["dag_id"], r["run_id"]): r["state"] for r in cluster.dag_runs()}
        with cluster.metadata() as conn:
            tis = conn.execute(sa.text(
                "SELECT task_id, hostname, EXTRACT(EPOCH FROM end_date - start_date) AS seconds FROM task_instance")
            ).mappings().all()
        stats = sandbox.admin("GET", "/stats")["organizations"]
        return {
            "workers": workers, "slots": workers * concurrency, "tenants": tenants, "docs": docs,
            "runs": sorted(set(states[r] for r in runs)), "wall_s": wall,
            "task_instances": len(tis), "task_seconds": sum(float(t["seconds"] or 0) for t in tis),
            "slowest_deliver_s": max(float(t["seconds"] or 0) for t in tis if t["task_id"] == "tenant.deliver"),
            "hosts": sorted({t["hostname"] for t in tis}),
            "requests": sum(o["requests"] for o in stats.values()),
            "real_429": sum(o["rate_limited"] for o in stats.values()),
            "load_1min_at_start": load_before,
            "peak_connections": {"metadata": peak_connections.get(ep.metadata_db, 0),
                                 "state": peak_connections.get(ep.state_db, 0),
                                 "sources": peak_connections.get(ep.fieldservice_db, 0)
                                 + peak_connections.get(ep.bank_db, 0)},
        }
    finally:
        cluster.stop()
        monkeypatch.undo()
        postgres.stop()


def row(r: dict[str, Any]) -> str:
    per_task = r["task_seconds"] / max(r["task_instances"], 1)
    c = r["peak_connections"]
    return (f"| {r['workers']} | {r['slots']} | {r['tenants']} x {2 * r['docs']} | {r['wall_s']:.0f} s | "
            f"{r['task_instances']} | {r['task_seconds']:.0f} s ({per_task:.1f} s each) | "
            f"{r['slowest_deliver_s']:.0f} s | {r['requests']} | {r['real_429']} | {', '.join(r['runs'])} | "
            f"{c['metadata']} / {c['state']} / {c['sources']} | {r['load_1min_at_start']:.1f} |")


HEADER = ("| workers | slots | tenants x documents | wall, trigger to both runs done | task instances | "
          "task time (sum) | slowest deliver | requests | real 429s | runs | "
          "peak DB connections (metadata / state / sources) | load (1 min) at start |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_workers", description=__doc__)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare")
    parser.add_argument("--tenants", type=int, default=8)
    parser.add_argument("--docs", type=int, default=10, help="valid invoices and transactions per tenant")
    parser.add_argument("--concurrency", type=int, default=4, help="task slots per worker")
    args = parser.parse_args(argv)
    sandbox = SandboxServer.start()
    results = []
    try:
        for workers in args.workers:
            print(f"==> {workers} worker(s)", file=sys.stderr, flush=True)
            results.append(run_once(workers, tenants=args.tenants, docs=args.docs, concurrency=args.concurrency,
                                    sandbox=sandbox))
    finally:
        sandbox.stop()
    print(HEADER)
    for result in results:
        print(row(result))
    return 0 if all(r["real_429"] == 0 and r["runs"] == ["success"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
