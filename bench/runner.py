"""The whole benchmark: delivery (with DAG parsing and the status sync alongside, while its workers sleep),
then staging, which is CPU-bound and so runs alone."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import dag_parse, delivery_rows, stage_rows, staging, status_sync
from bench.delivery import DeliveryRun, Outcome
from bench.delivery_setup import Contacts, Limiter, Scenario, prepare
from bench.infra import Infra, provide
from bench.scales import FIXED_SLEEP_SECONDS, PEER_ROUND_TRIP, Scale
from bench.table import Row, Verdict

PARTS = ("delivery", "staging")
STREAMS = ("invoices", "transactions")


def rate_key(round_trip: float) -> str:
    return f"rate_{round(round_trip * 1000)}ms"


def scenarios(scale: Scale) -> list[Scenario]:
    rates = [Scenario(rate_key(rt), scale.delivery_docs, Limiter.DB, Contacts.MAPPED, rt) for rt in scale.round_trips]
    return rates + [
        Scenario("fixed_sleep", scale.delivery_docs, Limiter.FIXED_SLEEP, Contacts.MAPPED, PEER_ROUND_TRIP),
        Scenario("new_customers", scale.request_count_docs, Limiter.DB, Contacts.NEW),
        Scenario("adopted_customers", scale.request_count_docs, Limiter.DB, Contacts.ADOPTED),
        *[Scenario(f"parallel_{n + 1}", scale.parallel_docs, Limiter.DB, Contacts.MAPPED)
          for n in range(scale.parallel_tenants)],
    ]


@dataclass
class Results:
    scale: Scale
    parts: tuple[str, ...]
    postgres: dict[str, str] = field(default_factory=dict)
    sandbox_priority: str = ""
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    parse: list[dag_parse.ParseCost] = field(default_factory=list)
    status_sync: status_sync.SyncRun | None = None
    staging: dict[str, staging.StreamResult] = field(default_factory=dict)
    seconds: float = 0.0


def measure(scale: Scale, *, postgres_url: str, sandbox_url: str | None = None, parts: tuple[str, ...] = PARTS,
            log: Callable[[str], None] = print) -> Results:
    began = time.monotonic()
    results = Results(scale=scale, parts=parts)
    with provide(postgres_url, sandbox_url) as infra:
        results.postgres = infra.postgres_settings()
        results.sandbox_priority = infra.sandbox.priority
        if "delivery" in parts:
            _delivery(infra, results, log)
        if "staging" in parts:
            for stream in STREAMS:
                results.staging[stream] = staging.measure_stream(infra, stream, scale.stage_small, scale.stage_large,
                                                                 scale.stage_repeats, log)
    results.seconds = time.monotonic() - began
    return results


def _delivery(infra: Infra, results: Results, log: Callable[[str], None]) -> None:
    scale = results.scale
    log("preparing the delivery scenarios")
    state_url = infra.database("delivery_state")
    delivery = DeliveryRun(infra, state_url, prepare(infra, state_url, scenarios(scale)))
    try:
        delivery.start()
        log("delivery workers are sending; measuring DAG parse cost and the status sync meanwhile")
        results.parse = dag_parse.measure(scale.parse_repeats)
        results.status_sync = status_sync.measure(infra, scale.status_documents)
        log("waiting for the delivery workers")
        results.outcomes = delivery.finish()
    finally:
        delivery.stop()


def rows(results: Results) -> list[Row]:
    table: list[Row] = []
    scale, o = results.scale, results.outcomes
    if "delivery" in results.parts:
        base = o[rate_key(scale.round_trips[0])]
        for rt in scale.round_trips:
            table.append(delivery_rows.rate_row(
                f"1.{rate_key(rt).replace('_', '.')}",
                f"Delivery rate, {scale.delivery_docs} drafts, DbRateLimiter (what the DAGs use), "
                f"round trip {rt * 1000:.0f} ms, bucket 2/s without burst", o[rate_key(rt)]))
        table += [
            delivery_rows.requests_row("2.requests.new_customers", "Requests per draft, all customers new",
                                       o["new_customers"]),
            delivery_rows.requests_row("2.requests.adopted_customers",
                                       "Requests per draft, all customers already in Lexware (adopted)",
                                       o["adopted_customers"]),
            delivery_rows.requests_row("2.requests.mapped_customers",
                                       "Requests per draft, all customers already mapped (row 1 at 0 ms)", base),
        ]
    for result in results.staging.values():
        table += stage_rows.rows(result)
    if "delivery" in results.parts:
        table += [dag_parse.row(cost) for cost in results.parse]
        parallel = [o[f"parallel_{n + 1}"] for n in range(scale.parallel_tenants)]
        table.append(delivery_rows.parallel_row(
            "5.parallel", f"{scale.parallel_tenants} tenants x {scale.parallel_docs} drafts at once, one OS process "
                          "each, round trip 0 ms", parallel, base))
        table.append(delivery_rows.pacing_row(
            "6.pacing", f"Pacing: DbRateLimiter vs a call every {FIXED_SLEEP_SECONDS:g} s (the peers), "
                        f"{scale.delivery_docs} drafts, round trip {PEER_ROUND_TRIP * 1000:.0f} ms",
            o[rate_key(PEER_ROUND_TRIP)], o["fixed_sleep"]))
        if results.status_sync is not None:
            table.append(status_sync.row(results.status_sync))
    return table


def notes(results: Results) -> list[str]:
    pg = results.postgres
    return [
        f"PostgreSQL {pg.get('server_version')}: fsync {pg.get('fsync')}, synchronous_commit "
        f"{pg.get('synchronous_commit')}, shared_buffers {pg.get('shared_buffers')}.",
        "Rates and request counts come from the sandbox's request log (server receive times, after the workers' "
        "common start); every rate is (requests - 1) / (last - first), on both sides of every ratio.",
        "Each delivery tenant is its own OS process and its own sandbox organisation (2 requests/s, no burst); the "
        "parallel row uses OS processes, not Airflow's LocalExecutor (bench/tenant_overhead.py measures that). "
        f"The sandbox (standing in for Lexware's servers) ran at {results.sandbox_priority}.",
        "Staging: every run is a spawned process that has imported everything before its clock starts; a sampler "
        "thread reads its RSS and that of its PostgreSQL backends (shared buffers they touched included) "
        "every 0.1 s.",
        f"The whole run took {results.seconds / 60:.1f} min.",
    ]


def summary(results: Results) -> dict[str, Any]:
    """Raw figures (no secrets: API keys are left out)."""
    return {
        "scale": asdict(results.scale),
        "seconds": results.seconds,
        "postgres": results.postgres,
        "delivery": {key: {"docs": o.tenant.docs, "customers": o.tenant.customers, "wall": o.wall, "sent": o.sent,
                           "error": o.error, "cpu_seconds": o.cpu_seconds, "requests": asdict(o.stats),
                           "rate": o.stats.rate, "round_trip": o.tenant.scenario.round_trip}
                     for key, o in results.outcomes.items()},
        "parse": [{"file": c.dag_file.name, "dag_seconds": c.dag_seconds, "cpu_seconds": c.cpu_seconds,
                   "heavy": c.heavy_modules, "error": c.error} for c in results.parse],
        "staging": {stream: asdict(r) for stream, r in results.staging.items()},
        "status_sync": asdict(results.status_sync) if results.status_sync else None,
    }


def write_json(results: Results, path: Path) -> None:
    path.write_text(json.dumps(summary(results), indent=2, default=str) + "\n")


def has_failures(table: list[Row]) -> bool:
    return any(row.verdict == Verdict.FAILED for row in table)
