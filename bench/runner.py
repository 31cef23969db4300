"""The whole benchmark as one timeline that fits the budget (15 minutes at full scale on 2 cores).

Delivery is paced by the 2 requests/s limit, not by the CPU, and its ten-odd workers mostly sleep; so they
start first and run while the CPU-bound parts (DAG parsing, data generation, validation, staging) take
their turns one after another. Staging gets whatever time the rest leaves, and a run that would not fit is
stopped at its deadline and reported as such (with its rate and the time it would have needed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import dag_parse, delivery_rows, stage_data, stage_rows, status_sync, validation_baseline
from bench.delivery import DeliveryRun, Outcome
from bench.delivery_setup import Contacts, Limiter, Scenario, prepare
from bench.infra import Infra, provide
from bench.scales import FIXED_SLEEP_SECONDS, Scale
from bench.stage_data import SourceData, StageWindow
from bench.staging import StageRun, stage_once
from bench.table import Row, Verdict, fmt_s

#: staging's share of its stream budget, cumulative per size (smallest first): later runs get what earlier leave
STAGE_SHARES = (0.15, 0.35, 1.0)  # of a stream's budget, cumulative
PROFILE_DEADLINE = 90.0
FINISH_RESERVE = 20.0  # collecting the delivery results, stopping the servers
STREAMS = ("invoices", "transactions")
TOTAL_TARGET_SECONDS = 15 * 60


def scenarios(scale: Scale) -> list[Scenario]:
    single = [
        Scenario("token_bucket", scale.delivery_docs, Limiter.TOKEN_BUCKET, Contacts.MAPPED),
        Scenario("db_limiter", scale.delivery_docs, Limiter.DB, Contacts.MAPPED),
        Scenario("fixed_sleep", scale.delivery_docs, Limiter.FIXED_SLEEP, Contacts.MAPPED),
        Scenario("new_customers", scale.request_count_docs, Limiter.TOKEN_BUCKET, Contacts.NEW),
        Scenario("adopted_customers", scale.request_count_docs, Limiter.TOKEN_BUCKET, Contacts.ADOPTED),
    ]
    parallel = [Scenario(f"parallel_{n + 1}", scale.parallel_docs, Limiter.DB, Contacts.MAPPED)
                for n in range(scale.parallel_tenants)]
    return single + parallel


@dataclass
class Results:
    scale: Scale
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    parse: list[dag_parse.ParseCost] = field(default_factory=list)
    sources: dict[str, SourceData] = field(default_factory=dict)
    validation: dict[str, validation_baseline.Comparison] = field(default_factory=dict)
    building: dict[str, validation_baseline.Comparison] = field(default_factory=dict)
    stage: dict[str, list[tuple[int, StageRun]]] = field(default_factory=dict)
    profiles: dict[str, StageRun] = field(default_factory=dict)
    seconds: float = 0.0
    sandbox_cpu_seconds: float | None = None
    status_sync: status_sync.SyncRun | None = None


def _windows(stream: str, source: SourceData, sizes: tuple[int, ...]) -> list[StageWindow]:
    cut = stage_data.invoice_window if stream == "invoices" else stage_data.transaction_window
    return [cut(source.url, source.company_id, size) for size in sizes]


def _stage_stream(infra: Infra, stream: str, source: SourceData, sizes: tuple[int, ...], budget: float,
                  log: Callable[[str], None]) -> list[tuple[int, StageRun]]:
    """Sizes smallest first; each run's deadline is its share of the stream's budget minus what was used."""
    runs = []
    began = time.monotonic()
    windows = _windows(stream, source, sizes)
    for nominal, window, share in zip(sizes, windows, STAGE_SHARES, strict=True):
        deadline = max(5.0, budget * share - (time.monotonic() - began))
        log(f"staging {window.rows:,} {stream} (deadline {deadline:.0f} s)")
        run = stage_once(infra, source, stream, window, deadline=deadline, name=f"stage_{stream}_{nominal}")
        runs.append((nominal, run))
    return runs


def _sandbox_cpu(infra: Infra) -> float | None:
    process = getattr(infra.sandbox, "process", None)
    if process is None:
        return None
    import psutil

    times = psutil.Process(process.pid).cpu_times()
    return float(times.user + times.system)


def _parse_cost(results: Results, log: Callable[[str], None]) -> None:
    log("measuring DAG parse cost")
    results.parse = dag_parse.measure(results.scale.parse_repeats)


def _staging(infra: Infra, results: Results, deadline: float, log: Callable[[str], None]) -> None:
    """Sources, validation baselines and profiles first (fixed work), then staging takes the time left."""
    scale = results.scale
    log("generating the staging sources")
    largest = max(scale.stage_sizes)
    results.sources["invoices"] = stage_data.build_invoices(
        infra.database("stage_fieldservice"), largest=largest, replicas=scale.stage_replicas)
    results.sources["transactions"] = stage_data.build_transactions(
        infra.database("stage_bank"), largest=largest, replicas=scale.stage_replicas)
    log("validation baselines")
    results.validation["invoices"] = validation_baseline.compare_invoices(
        results.sources["invoices"], scale.validation_drafts, scale.validation_repeats)
    results.validation["transactions"] = validation_baseline.compare_transactions(
        results.sources["transactions"], scale.validation_transactions, scale.validation_repeats)
    log("document-building baselines")
    results.building["invoices"] = validation_baseline.compare_invoice_building(
        results.sources["invoices"], scale.validation_drafts, scale.validation_repeats)
    results.building["transactions"] = validation_baseline.compare_transaction_building(
        results.sources["transactions"], scale.validation_transactions, scale.validation_repeats)

    def profile(stream: str) -> None:
        (window,) = _windows(stream, results.sources[stream], (scale.profile_rows,))
        log(f"profiling the staging of {window.rows:,} {stream}")
        results.profiles[stream] = stage_once(infra, results.sources[stream], stream, window,
                                              deadline=PROFILE_DEADLINE, name=f"profile_{stream}", profile=True)

    def stage(stream: str, budget: float) -> None:
        results.stage[stream] = _stage_stream(infra, stream, results.sources[stream], scale.stage_sizes, budget, log)

    if scale.overlap:  # tiny: the figures do not matter, the wall time does
        with ThreadPoolExecutor(max_workers=4) as pool:
            budget = deadline - time.monotonic() - FINISH_RESERVE
            futures = [pool.submit(profile, s) for s in STREAMS] + [pool.submit(stage, s, budget) for s in STREAMS]
            for future in futures:
                future.result()
        return
    for stream in STREAMS:
        profile(stream)
    per_stream = max(30.0, (deadline - time.monotonic() - FINISH_RESERVE) / len(STREAMS))
    for stream in STREAMS:
        stage(stream, per_stream)


def measure(scale: Scale, *, postgres_url: str | None = None, sandbox_url: str | None = None,
            log: Callable[[str], None] = print) -> Results:
    began = time.monotonic()
    deadline = began + scale.budget_seconds
    results = Results(scale=scale)
    with provide(postgres_url, sandbox_url) as infra:
        log(f"infrastructure ready after {time.monotonic() - began:.1f} s; preparing delivery scenarios")
        state_url = infra.database("delivery_state")
        delivery = DeliveryRun(infra, state_url, prepare(infra, state_url, scenarios(scale)))
        try:
            delivery.start()
            log("delivery workers are sending")
            if scale.overlap:
                with ThreadPoolExecutor(max_workers=3) as pool:
                    parsing = pool.submit(_parse_cost, results, log)
                    syncing = pool.submit(status_sync.measure, infra, scale.status_documents)
                    _staging(infra, results, deadline, log)
                    parsing.result()
                    results.status_sync = syncing.result()
            else:
                _parse_cost(results, log)
                log(f"status sync of {scale.status_documents:,} sent drafts")
                results.status_sync = status_sync.measure(infra, scale.status_documents)
                _staging(infra, results, deadline, log)
            log("waiting for the delivery workers")
            results.outcomes = delivery.finish()
            results.sandbox_cpu_seconds = _sandbox_cpu(infra)
        finally:
            delivery.stop()
    results.seconds = time.monotonic() - began
    return results


def rows(results: Results) -> list[Row]:
    o = results.outcomes
    scale = results.scale
    table = [
        delivery_rows.rate_row("1.rate.token_bucket",
                               f"Delivery rate, {scale.delivery_docs} drafts, mapped contacts, client TokenBucket",
                               o["token_bucket"]),
        delivery_rows.rate_row("1.rate.db_limiter",
                               f"Delivery rate, {scale.delivery_docs} drafts, DbRateLimiter (what the DAGs use)",
                               o["db_limiter"]),
        delivery_rows.requests_row("2.requests.new_customers", "Requests per draft, all customers new",
                                   o["new_customers"]),
        delivery_rows.requests_row("2.requests.adopted_customers",
                                   "Requests per draft, all customers already in Lexware (adopted)",
                                   o["adopted_customers"]),
        delivery_rows.requests_row("2.requests.mapped_customers",
                                   "Requests per draft, all customers already mapped (run 1, TokenBucket)",
                                   o["token_bucket"]),
    ]
    for stream in STREAMS:
        table.append(stage_rows.generation_row(stream, results.sources[stream]))
        for nominal, run in results.stage[stream]:
            table.append(stage_rows.stage_row(stream, nominal, run))
        table.append(stage_rows.memory_row(stream, results.stage[stream]))
        table.append(stage_rows.profile_row(stream, results.profiles[stream]))
    table += [dag_parse.row(cost) for cost in results.parse]
    parallel = [o[f"parallel_{n + 1}"] for n in range(scale.parallel_tenants)]
    table.append(delivery_rows.parallel_row(
        "5.parallel", f"{scale.parallel_tenants} tenants x {scale.parallel_docs} drafts at once, one OS process each",
        parallel, o["db_limiter"]))
    table.append(validation_baseline.row("6.validation.invoices", "invoices", results.validation["invoices"]))
    table.append(validation_baseline.row("6.validation.transactions", "transactions",
                                         results.validation["transactions"]))
    table.append(validation_baseline.build_row("6.build.invoices", "invoices", results.building["invoices"]))
    table.append(validation_baseline.build_row("6.build.transactions", "transactions",
                                               results.building["transactions"]))
    table.append(delivery_rows.pacing_row(
        "6.pacing",
        f"Pacing baseline: TokenBucket vs fixed {FIXED_SLEEP_SECONDS:g} s sleep, {scale.delivery_docs} drafts",
        o["token_bucket"], o["fixed_sleep"]))
    if results.status_sync is not None:
        table.append(status_sync.row(results.status_sync))
    table.append(Row.judged("7.total", "The whole benchmark, one command", f"{results.seconds / 60:.1f} min",
                            "< 15 min", results.seconds < TOTAL_TARGET_SECONDS))
    return table


def notes(results: Results) -> list[str]:
    worker_cpu = sum(out.cpu_seconds for out in results.outcomes.values())
    sandbox = (f"; the sandbox {fmt_s(results.sandbox_cpu_seconds)}" if results.sandbox_cpu_seconds is not None
               else "")
    return [
        "Rates and request counts come from the sandbox's request log (server receive times), after the workers' "
        "common start.",
        f"Delivery ran in {len(results.outcomes)} OS processes (delivery.run.deliver_tenant with a real LexofficeClient "
        f"over HTTP), each tenant its own sandbox organisation limited to 2 requests/s; item 5 uses "
        f"{results.scale.parallel_tenants} OS processes, not Airflow's LocalExecutor. They used {fmt_s(worker_cpu)} "
        f"CPU in all{sandbox}, alongside the staging runs.",
        f"Staging sources: the demo generator writes 1/{results.scale.stage_replicas} of the largest size, "
        "PostgreSQL copies it (fresh ids) up to the largest size; every size runs in its own process on a fresh "
        "outbox (PostgreSQL), staged in that one process as an Airflow task stages it.",
    ]


def summary(results: Results) -> dict[str, Any]:
    """Raw figures for docs/benchmarks.md (no secrets: API keys are left out)."""
    return {
        "scale": asdict(results.scale),
        "seconds": results.seconds,
        "delivery": {key: {"docs": o.tenant.docs, "customers": o.tenant.customers, "wall": o.wall, "sent": o.sent,
                           "error": o.error, "cpu_seconds": o.cpu_seconds, "requests": asdict(o.stats),
                           "rate": o.stats.rate}
                     for key, o in results.outcomes.items()},
        "parse": [{"file": c.dag_file.name, "dag_seconds": c.dag_seconds, "cpu_seconds": c.cpu_seconds,
                   "airflow_seconds": c.airflow_seconds,
                   "heavy": c.heavy_modules, "error": c.error} for c in results.parse],
        "sources": {k: asdict(v) for k, v in results.sources.items()},
        "validation": {k: asdict(v) | {"ratio": v.ratio} for k, v in results.validation.items()},
        "building": {k: asdict(v) | {"ratio": v.ratio} for k, v in results.building.items()},
        "stage": {stream: [{"nominal": n, "rows": r.window.rows, "documents": r.window.documents,
                            "finished": r.finished, "seconds": r.seconds, "rows_done": r.rows_done,
                            "peak_mb": r.peak_mb, "deadline": r.deadline, "counts": r.counts, "error": r.error,
                            "python_cpu": r.python_cpu, "postgres_cpu": r.postgres_cpu,
                            "trace": r.trace} for n, r in runs]
                  for stream, runs in results.stage.items()},
        "profiles": {k: {"rows": r.window.rows, "seconds": r.seconds, "shares": r.profile, "error": r.error}
                     for k, r in results.profiles.items()},
        "sandbox_cpu_seconds": results.sandbox_cpu_seconds,
        "status_sync": asdict(results.status_sync) if results.status_sync else None,
    }


def write_json(results: Results, path: Path) -> None:
    path.write_text(json.dumps(summary(results), indent=2, default=str) + "\n")


def has_failures(table: list[Row]) -> bool:
    return any(row.verdict == Verdict.FAILED for row in table)
