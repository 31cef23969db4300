"""Judge staging runs against issue #16's bound: one process, under 60 s and 1 GB per million rows, memory flat."""

from __future__ import annotations


from bench.stage_data import SourceData
from bench.staging import StageRun
from bench.table import Row, fmt_int, fmt_mb, fmt_s

SECONDS_PER_MILLION = 60.0
PEAK_LIMIT_MB = 1024.0
FLAT_GROWTH = 1.25  # the largest run's peak RSS may be at most this much above the smallest's

NOUN = {"invoices": ("invoice lines", "lines", "drafts"), "transactions": ("transactions", "txns", "transactions")}


def size_label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def stage_key(stream: str, nominal: int) -> str:
    return f"3.stage.{stream}.{size_label(nominal)}"


def stage_row(stream: str, nominal: int, run: StageRun) -> Row:
    noun, unit, docs = NOUN[stream]
    extra = f" / {fmt_int(run.window.documents)} {docs}" if stream == "invoices" else ""
    label = f"Stage {fmt_int(run.window.rows)} {noun}{extra} from PostgreSQL into the outbox, one process"
    target_seconds = SECONDS_PER_MILLION * run.window.rows / 1_000_000
    target = f"< {fmt_s(target_seconds)} (60 s per 1M), peak RSS < 1 GB"
    key = stage_key(stream, nominal)
    if run.error:
        return Row.failed(key, label, run.error, target)
    if run.finished:
        result = f"{fmt_s(run.seconds)}, {fmt_int(run.rows_per_second)} {unit}/s, peak RSS {fmt_mb(run.peak_mb)}"
        result += cpu_note(run)
        return Row.judged(key, label, result, target, run.seconds < target_seconds and run.peak_mb < PEAK_LIMIT_MB)
    estimate = run.window.rows / run.rows_per_second if run.rows_per_second else float("inf")
    result = (f"stopped at its {run.deadline:.0f} s deadline after ~{fmt_int(run.rows_done)} {unit}: "
              f"{fmt_int(run.rows_per_second)} {unit}/s, so ~{fmt_s(estimate)} for all; "
              f"peak RSS {fmt_mb(run.peak_mb)} so far")
    if run.seconds < target_seconds:
        return Row.failed(key, label, result + " (deadline shorter than the target)", target)
    return Row.judged(key, label, result, target, False)


def cpu_note(run: StageRun) -> str:
    """CPU in core-seconds: what a machine must supply, whatever else runs on it."""
    if run.python_cpu is None:
        return ""
    if run.postgres_cpu is None:
        return f"; CPU: Python {run.python_cpu:.1f} s (PostgreSQL not on this machine)"
    total = run.python_cpu + run.postgres_cpu
    return f"; CPU: Python {run.python_cpu:.1f} s + PostgreSQL {run.postgres_cpu:.1f} s = {total:.1f} core-s"


def memory_row(stream: str, runs: list[tuple[int, StageRun]]) -> Row:
    noun, unit, _ = NOUN[stream]
    key = f"3.memory.{stream}"
    label = f"Stage memory as {noun} grow (peak RSS of each run's process)"
    target = f"flat: largest run <= {FLAT_GROWTH:.2f} x smallest"
    usable = [(n, r) for n, r in runs if not r.error and r.trace]
    if len(usable) < 2:
        return Row.failed(key, label, "fewer than two runs staged anything", target)
    parts = []
    for nominal, run in usable:
        note = "" if run.finished else f" (at ~{fmt_int(run.rows_done)} {unit}, stopped)"
        parts.append(f"{size_label(nominal)}: {fmt_mb(run.peak_mb)}{note}")
    growth = usable[-1][1].peak_mb / usable[0][1].peak_mb
    result = "; ".join(parts) + f"; growth {growth:.2f} x"
    return Row.judged(key, label, result, target, growth <= FLAT_GROWTH and usable[-1][1].peak_mb < PEAK_LIMIT_MB)


def generation_row(stream: str, data: SourceData) -> Row:
    noun, unit, _ = NOUN[stream]
    copies = data.total_rows // max(1, data.generated_rows)
    result = (f"demo generator: {fmt_int(data.generated_rows)} {noun} in {fmt_s(data.generated_seconds)} "
              f"({fmt_int(data.generated_rows / data.generated_seconds)} {unit}/s); copied in SQL to "
              f"{copies} x = {fmt_int(data.total_rows)} in {fmt_s(data.replicate_seconds)}")
    return Row.info(f"3.generate.{stream}", f"Generate the {noun} source (not part of staging)", result)


def profile_row(stream: str, run: StageRun) -> Row:
    noun, unit, _ = NOUN[stream]
    key = f"3.profile.{stream}"
    label = f"Where staging time goes ({noun}, cProfile, {fmt_int(run.window.rows)} {unit})"
    if run.error or not run.profile:
        return Row.failed(key, label, run.error or "the profiled run did not finish")
    shares = sorted(run.profile.items(), key=lambda item: -item[1])
    other = max(0.0, 1.0 - sum(share for _, share in shares))
    result = ", ".join(f"{name} {share:.0%}" for name, share in shares) + f", everything else {other:.0%}"
    return Row.info(key, label, result)
