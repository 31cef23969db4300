"""Stage windows of the source into a fresh outbox, each size in its own process, within a deadline.

Each run gets a new state database on the same PostgreSQL server (so no run finds rows of another), a
tenant, and a worker process; the parent reads its progress lines and stops it at the deadline. A stopped
run still reports how many rows it staged, at what rate, and its peak RSS so far.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

from bench import cpu, processes, stage_worker
from bench.infra import Infra
from bench.stage_data import SourceData, StageWindow

EXPORT_SINCE = date(2024, 1, 1)  # before all generated data: nothing is flagged for it
STARTUP_ALLOWANCE = 30.0  # seconds a worker may take before its first batch counts against the deadline


@dataclass
class StageRun:
    stream: str
    size: int
    window: StageWindow
    deadline: float
    finished: bool = False
    seconds: float = 0.0
    documents: int = 0
    peak_mb: float = 0.0
    trace: list[tuple[int, float]] = field(default_factory=list)  # (documents, rss MB) after each batch
    counts: dict[str, int] = field(default_factory=dict)
    profile: dict[str, float] | None = None
    error: str | None = None
    python_cpu: float | None = None    # core-seconds of the staging worker
    postgres_cpu: float | None = None  # core-seconds of the PostgreSQL server meanwhile (None: not on this machine)

    @property
    def rows_done(self) -> float:
        """Rows staged (invoice lines are estimated from drafts when a run was stopped)."""
        if self.finished:
            return float(self.window.rows)
        return self.documents * self.window.rows / max(1, self.window.documents)

    @property
    def rows_per_second(self) -> float:
        return self.rows_done / self.seconds if self.seconds else 0.0


def stage_once(infra: Infra, source: SourceData, stream: str, window: StageWindow, *, deadline: float,
               name: str, profile: bool = False) -> StageRun:
    """Stage ``window`` of ``source`` into a new outbox in one process; stop at ``deadline`` seconds of staging."""
    from lexoffice.state import tenants
    from lexoffice.state.db import init_db, make_engine

    run = StageRun(stream=stream, size=window.rows, window=window, deadline=deadline)
    state_url = infra.database(name)
    state = make_engine(state_url)
    try:
        init_db(state)
        company = {"invoice_company_id": source.company_id} if stream == "invoices" else {
            "bank_company_id": source.company_id}
        tenants.add_tenant(state, tenant_id="bench", name="Bench GmbH", lexoffice_conn_id="lexoffice_bench",
                           export_since=EXPORT_SINCE, **company)
    finally:
        state.dispose()
    server = cpu.postmaster_pid(state_url)
    server_before = cpu.server_cpu_seconds(server) if server else None
    process, conn = processes.start(stage_worker.run, {
        "state_url": state_url, "source_url": source.url, "stream": stream, "tenant_id": "bench",
        "start": window.start.isoformat(), "end": window.end.isoformat(), "profile": profile,
    }, name=f"stage-{name}")
    stop_at = time.monotonic() + deadline + STARTUP_ALLOWANCE
    try:
        while conn.poll(max(0.0, stop_at - time.monotonic())):
            report = conn.recv()
            if report["kind"] == "error":
                run.error = report["error"]
                break
            run.documents, run.seconds, run.peak_mb = report["documents"], report["seconds"], report["peak_mb"]
            run.trace.append((report["documents"], report["rss_mb"]))
            if report["kind"] == "done":
                run.finished, run.counts, run.profile = True, report["counts"], report.get("profile")
                run.python_cpu = report.get("cpu_seconds")
                if server and server_before is not None:
                    run.postgres_cpu = cpu.server_cpu_seconds(server) - server_before
                break
            if report["seconds"] >= deadline and report["documents"] < window.documents:
                break  # past the deadline with work left (when all is staged, "done" is a moment away)
    except EOFError:
        run.error = f"the worker died (exit code {process.exitcode}); see the bench's stderr"
    finally:
        if process.is_alive():
            process.terminate()
        process.join(30)
        conn.close()
    if not run.finished and not run.error and not run.trace:
        run.error = "stopped at the deadline before the first batch was staged"
    return run
