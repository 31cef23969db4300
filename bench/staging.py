"""Staging time and memory: a generated source, windows of it, each staged by ``staging.stage.stage_tenant`` in a
process of its own while a sampler thread in this process records its memory and that of PostgreSQL.

The source is generated at full size by the demo generator (seeded, random timestamps over a year, 5 %
broken rows), never copied: caches keyed on distinct values must see the variety real data has. Runs:

* ``small``: the first ``small`` rows into an empty outbox (``repeats`` times, the median counts);
* ``large``: the first ``large`` rows into an empty outbox (issue 16's bound);
* ``restage``: the same ``large`` window again, unchanged (what a backfill does);
* ``into_full``: the next ``small`` rows into the outbox that now holds the ``large`` window.

Each run's process is spawned and has imported everything before the clock starts. The sampler reads the
process's RSS and the RSS of the PostgreSQL backends serving its databases every 0.1 s for the whole run.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from multiprocessing.connection import Connection
from typing import Any

import psutil
import sqlalchemy as sa

from bench.infra import Infra

GENERATED_START = date(2025, 1, 1)
GENERATED_DAYS = 365
WINDOW_START = datetime(2024, 12, 31, tzinfo=timezone.utc)
EXPORT_SINCE = date(2024, 1, 1)  # before all generated data: nothing is flagged for it
MEAN_LINES_PER_DRAFT = 3.5       # the generator's default of 1 to 6 lines
OWN_ACCOUNTS, FOREIGN_ACCOUNTS = 4, 1
COMPLETED_SHARE = 0.95           # transactions that never complete are not read by windows
SAMPLE_SECONDS = 0.1
RUN_TIMEOUT = 40 * 60
TENANT = "bench"


@dataclass(frozen=True)
class Source:
    url: str
    company_id: str
    rows: int        # invoice lines or completed own-account transactions
    seconds: float   # generating them


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    rows: int        # invoice lines or transactions in the window
    documents: int   # drafts or transactions in the window


@dataclass
class StageRun:
    stream: str
    kind: str        # small, large, restage, into_full
    nominal: int     # the size asked for (the window holds at least that many rows)
    window: Window
    seconds: float = 0.0
    cpu_seconds: float = 0.0                 # the staging process, user + system, all threads
    counts: dict[str, int] = field(default_factory=dict)
    python_peak_mb: float = 0.0              # peak RSS of the staging process (samples and its own high-water mark)
    postgres_peak_mb: float | None = None    # sampled RSS of its PostgreSQL backends (None: server elsewhere)
    samples: int = 0
    load: float = 0.0                        # 1-minute load average when the run ended
    error: str | None = None

    @property
    def rows_per_second(self) -> float:
        return self.window.rows / self.seconds if self.seconds else 0.0


def generate(stream: str, url: str, rows: int, seed: int = 42) -> Source:
    """At least ``rows`` rows of ``stream`` for one company, all generated (nothing copied)."""
    from demo.generate import generate_bank, generate_fieldservice

    engine = sa.create_engine(url)
    try:
        began = time.perf_counter()
        if stream == "invoices":
            drafts = math.ceil(rows / MEAN_LINES_PER_DRAFT * 1.03)
            done = generate_fieldservice(engine, seed=seed, companies=1, drafts_per_company=drafts,
                                         start=GENERATED_START, days=GENERATED_DAYS, collect_expected=False)
            count = "SELECT count(*) FROM invoice_draft_lines"
        else:  # windows read only the company's own accounts' completed transactions
            per_account = math.ceil(rows / OWN_ACCOUNTS / COMPLETED_SHARE * 1.02)
            done = generate_bank(engine, seed=seed, companies=1, accounts_per_company=OWN_ACCOUNTS,
                                 foreign_accounts_per_company=FOREIGN_ACCOUNTS, transactions_per_account=per_account,
                                 start=GENERATED_START, days=GENERATED_DAYS, collect_expected=False)
            count = ("SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id "
                     "WHERE a.is_own AND t.completed_at IS NOT NULL")
        seconds = time.perf_counter() - began
        with engine.connect() as conn:
            total = int(conn.exec_driver_sql(count).scalar_one())
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return Source(url, done["company_ids"][0], total, seconds)


# One row per document: its cursor time, id and how many rows (lines) it brings. Own accounts only: a window
# does not read accounts at other banks (transactions_window.sql).
_EVENTS = {
    "invoices": """
        SELECT COALESCE(d.updated_at, d.created_at) AS event_at, d.id, count(l.id) AS rows
        FROM invoice_drafts d LEFT JOIN invoice_draft_lines l ON l.draft_id = d.id
        WHERE d.company_id = :company_id AND COALESCE(d.updated_at, d.created_at) >= :start GROUP BY d.id""",
    "transactions": """
        SELECT t.completed_at AS event_at, t.id, 1 AS rows
        FROM transactions t JOIN accounts a ON a.id = t.account_id
        WHERE a.company_id = :company_id AND a.is_own AND t.completed_at >= :start""",
}


def window(stream: str, source: Source, start: datetime, rows: int) -> Window:
    """The shortest window from ``start`` that holds at least ``rows`` rows, and exactly what it holds."""
    events = _EVENTS[stream]
    params = {"company_id": source.company_id, "start": start}
    cumulative = ("SELECT event_at, sum(rows) OVER (ORDER BY event_at, id ROWS UNBOUNDED PRECEDING) AS cum "
                  f"FROM ({events}) e")
    engine = sa.create_engine(source.url)
    try:
        with engine.connect() as conn:
            boundary = conn.execute(sa.text(f"SELECT min(event_at) FROM ({cumulative}) c WHERE cum >= :rows"),
                                    {**params, "rows": rows}).scalar_one()
            if boundary is None:
                raise RuntimeError(f"the {stream} source holds fewer than {rows:,} rows after {start}")
            end = boundary + timedelta(microseconds=1)  # half-open; ties at the boundary come along
            total, documents = conn.execute(
                sa.text(f"SELECT coalesce(sum(rows), 0), count(*) FROM ({events}) e WHERE event_at < :end"),
                {**params, "end": end}).one()
    finally:
        engine.dispose()
    return Window(start, end, int(total), int(documents))


def new_outbox(infra: Infra, name: str, stream: str, source: Source) -> str:
    """A fresh state database with the bench tenant; returns its URL."""
    from lexoffice.state import tenants
    from lexoffice.state.db import init_db, make_engine

    url = infra.database(name)
    engine = make_engine(url)
    try:
        init_db(engine)
        company = "invoice_company_id" if stream == "invoices" else "bank_company_id"
        tenants.add_tenant(engine, tenant_id=TENANT, name="Bench GmbH", lexoffice_conn_id="lexoffice_bench",
                           export_since=EXPORT_SINCE, **{company: source.company_id})
    finally:
        engine.dispose()
    return url


def _worker(config: dict[str, Any], conn: Connection) -> None:
    """The staging process: imports and connects, says ready, stages on "go", reports."""
    try:
        from lexoffice.staging import stage as staging_stage
        from lexoffice.documents import Stream
        from lexoffice.state import tenants
        from lexoffice.state.db import make_engine
        from lexoffice.staging.windows import Window as StageWindow

        state, source = make_engine(config["state_url"]), make_engine(config["source_url"])
        tenant = tenants.get_tenant(state, TENANT)
        window_ = StageWindow(datetime.fromisoformat(config["start"]), datetime.fromisoformat(config["end"]))
        conn.send("ready")
        conn.recv()
        before = resource.getrusage(resource.RUSAGE_SELF)
        began = time.perf_counter()
        result = staging_stage.stage_tenant(state_engine=state, source_engine=source, tenant=tenant,
                                       stream=Stream(config["stream"]), window=window_, run_id="bench")
        seconds = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        conn.send({"seconds": seconds, "cpu_seconds": cpu, "counts": result["counts"],
                   "peak_rss": after.ru_maxrss * 1024})  # Linux counts KiB; a peak between two samples
    except Exception as exc:  # reported in the table, never hidden
        conn.send({"error": f"{type(exc).__name__}: {exc}"})


class Sampler(threading.Thread):
    """Peak RSS of one process and of the PostgreSQL backends serving ``databases``, every 0.1 s."""

    def __init__(self, pid: int, postmaster: psutil.Process | None, databases: list[str]) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.postmaster = postmaster
        self.databases = [f" {name} " for name in databases]  # backend titles: "postgres: user db host(port) …"
        self.python_peak = 0
        self.postgres_peak = 0
        self.samples = 0
        self._done = threading.Event()

    def run(self) -> None:
        # The first sample is taken at once: a small window can be staged before the first 0.1 s are up.
        while True:
            try:
                self.python_peak = max(self.python_peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            self.postgres_peak = max(self.postgres_peak, self._backends_rss())
            self.samples += 1
            if self._done.wait(SAMPLE_SECONDS):
                return

    def _backends_rss(self) -> int:
        if self.postmaster is None:
            return 0
        total = 0
        for backend in self.postmaster.children():
            try:
                title = " ".join(backend.cmdline()) + " "
                if any(name in title for name in self.databases):
                    total += backend.memory_info().rss
            except psutil.Error:  # ended meanwhile
                continue
        return total

    def stop(self) -> None:
        self._done.set()
        self.join(10)


def _postmaster(url: str) -> psutil.Process | None:
    """The PostgreSQL server's main process if it runs on this machine."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        parent = psutil.Process(int(backend)).parent()
        return parent if parent is not None and "postgres" in parent.name() else None
    except (psutil.Error, sa.exc.SQLAlchemyError):
        return None
    finally:
        engine.dispose()


def stage(state_url: str, source: Source, stream: str, kind: str, nominal: int, window_: Window) -> StageRun:
    """Stage ``window_`` of ``source`` into ``state_url`` in a process of its own, sampled the whole time."""
    run = StageRun(stream, kind, nominal, window_)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_worker, name=f"stage-{stream}-{kind}", daemon=True, args=({
        "state_url": state_url, "source_url": source.url, "stream": stream,
        "start": window_.start.isoformat(), "end": window_.end.isoformat()}, child))
    process.start()
    child.close()
    sampler = None
    try:
        ready = parent.recv() if parent.poll(300) else {"error": "the staging process did not start in 300 s"}
        if ready != "ready":
            run.error = ready["error"]
            return run
        databases = [sa.make_url(state_url).database, sa.make_url(source.url).database]
        postmaster = _postmaster(state_url)
        sampler = Sampler(process.pid, postmaster, [d for d in databases if d])
        sampler.start()
        parent.send("go")
        report = parent.recv() if parent.poll(RUN_TIMEOUT) else {"error": f"not done in {RUN_TIMEOUT} s"}
        sampler.stop()
        run.python_peak_mb = max(sampler.python_peak, report.get("peak_rss", 0)) / 2**20
        run.postgres_peak_mb = sampler.postgres_peak / 2**20 if postmaster is not None else None
        run.samples = sampler.samples
        run.load = os.getloadavg()[0]
        if "error" in report:
            run.error = report["error"]
        else:
            run.seconds, run.cpu_seconds, run.counts = report["seconds"], report["cpu_seconds"], report["counts"]
    except EOFError:
        run.error = f"the staging process died (exit code {process.exitcode})"
    finally:
        if sampler is not None and sampler.is_alive():
            sampler.stop()
        if process.is_alive():
            process.terminate()
        process.join(30)
        parent.close()
    return run


@dataclass
class StreamResult:
    stream: str
    source: Source
    small: list[StageRun] = field(default_factory=list)
    large: StageRun | None = None
    restage: StageRun | None = None
    into_full: StageRun | None = None

    @property
    def small_median(self) -> StageRun:
        """The run with the median time of the small ones (an odd number of repeats)."""
        ok = [r for r in self.small if not r.error] or self.small
        middle = statistics.median_low(r.seconds for r in ok)
        return next(r for r in ok if r.seconds == middle)


def measure_stream(infra: Infra, stream: str, small: int, large: int, repeats: int,
                   log: Any = print) -> StreamResult:
    """Generate ``large + small`` rows, then the small, large, restage and into-full runs."""
    log(f"generating {large + small:,} {stream}")
    source = generate(stream, infra.database(f"source_{stream}"), large + small)
    result = StreamResult(stream, source)
    first_small = window(stream, source, WINDOW_START, small)
    for n in range(repeats):
        log(f"staging {first_small.rows:,} {stream} into an empty outbox ({n + 1} of {repeats})")
        url = new_outbox(infra, f"state_{stream}_small_{n}", stream, source)
        result.small.append(stage(url, source, stream, "small", small, first_small))
    big = window(stream, source, WINDOW_START, large)
    url = new_outbox(infra, f"state_{stream}_large", stream, source)
    log(f"staging {big.rows:,} {stream} into an empty outbox")
    result.large = stage(url, source, stream, "large", large, big)
    log(f"staging the same {big.rows:,} {stream} again (unchanged)")
    result.restage = stage(url, source, stream, "restage", large, big)
    after = window(stream, source, big.end, small)
    log(f"staging the next {after.rows:,} {stream} into the outbox holding the first {big.rows:,}")
    result.into_full = stage(url, source, stream, "into_full", small, after)
    return result
