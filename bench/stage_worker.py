"""One staging run in its own OS process (started by ``bench.staging`` through ``bench.processes``).

Runs ``staging.stage.stage_tenant`` over one window of the source and sends a ``progress`` message after every
outbox batch (documents so far, seconds, current and peak RSS) and a final ``done`` message. The parent may
stop a run at its deadline and still knows how far it got and how much memory it used. With
``"profile": true`` the run goes under cProfile and ``done`` carries where the time went.
"""

from __future__ import annotations

import cProfile
import logging
import os
import pstats
import resource
import time
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

#: (label, file suffix, function names): the stage's parts, by cumulative time under cProfile. The profiled
#: run stages without helper threads (LEXOFFICE_BACKGROUND_THREADS=0) so that cProfile sees every part.
PROFILE_PARTS = (
    ("extract (SQL)", "lexoffice/source/extract.py", ("fetch",)),
    ("rows -> DataFrame", "lexoffice/source/frames.py", ("from_column_values",)),  # from_columns calls it
    ("validation", "lexoffice/validation/", ("validate_invoices", "validate_transactions")),
    ("content hash", "lexoffice/staging/", ("_content_hashes",)),
    ("payloads", "lexoffice/staging/", ("_payloads_and_related", "_line_items", "build", "related")),
    ("keys and references", "lexoffice/staging/", ("_source_refs", "_event_times_and_sort_keys", "_plain_rows",
                                                   "iso_utc_microseconds")),
    ("outbox upsert", "lexoffice/state/outbox.py", ("_stage_batch",)),
)


def _rss_mb() -> float:
    """This process's resident memory plus its children's (the staging processes, when there are any)."""
    import psutil

    me = psutil.Process()
    total = me.memory_info().rss
    for child in me.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:  # ended between the listing and the reading
            pass
    return total / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _profile_shares(profile: cProfile.Profile, total: float) -> dict[str, float]:
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    shares: dict[str, float] = {}
    for label, suffix, names in PROFILE_PARTS:
        seconds = sum(entry[3] for (path, _, name), entry in stats.items() if suffix in path and name in names)
        shares[label] = seconds / total if total else 0.0
    return shares


def run(config: dict[str, Any], conn: Connection) -> None:
    try:
        _stage(config, conn)
    except Exception as exc:  # reported in the table, never hidden
        conn.send({"kind": "error", "error": f"{type(exc).__name__}: {exc}"})


def _stage(config: dict[str, Any], conn: Connection) -> None:
    logging.basicConfig(level=logging.WARNING)
    if config.get("profile"):
        os.environ["LEXOFFICE_BACKGROUND_THREADS"] = "0"  # cProfile sees only the thread that enables it
    from lexoffice.staging import stage
    from lexoffice.documents import Stream
    from lexoffice.state import tenants
    from lexoffice.state.db import make_engine
    from lexoffice.staging.windows import Window

    # stage_tenant imports the stream's source module (and with it pandas) on first use; the forkserver has
    # imported it already (bench.preload), so import time is not counted as staging time.
    state = make_engine(config["state_url"])
    source = make_engine(config["source_url"])
    tenant = tenants.get_tenant(state, config["tenant_id"])
    window = Window(datetime.fromisoformat(config["start"]), datetime.fromisoformat(config["end"]))
    staged = 0

    peak_sampled = 0.0

    def peak() -> float:  # with staging processes, the largest sum of all RSS seen at a batch
        return max(_peak_mb(), peak_sampled)

    def report(counts: Any) -> None:  # after every committed outbox batch, so progress survives a deadline
        nonlocal staged, peak_sampled
        staged = counts.total
        rss = _rss_mb()
        peak_sampled = max(peak_sampled, rss)
        conn.send({"kind": "progress", "documents": staged, "seconds": time.perf_counter() - began,
                   "rss_mb": rss, "peak_mb": peak()})

    from bench.cpu import python_cpu_seconds

    profile = cProfile.Profile() if config.get("profile") else None
    cpu_before = python_cpu_seconds()
    began = time.perf_counter()  # read by stage_and_report
    if profile:
        profile.enable()
    result = stage.stage_tenant(state_engine=state, source_engine=source, tenant=tenant,
                                   stream=Stream(config["stream"]), window=window, run_id="bench",
                                   on_progress=report)
    if profile:
        profile.disable()
    seconds = time.perf_counter() - began
    conn.send({"kind": "done", "documents": staged, "seconds": seconds, "counts": result["counts"],
               "rss_mb": _rss_mb(), "peak_mb": peak(), "cpu_seconds": python_cpu_seconds() - cpu_before,
               "profile": _profile_shares(profile, seconds) if profile else None})
