"""Judge staging runs against issue 16's bound: one process stages 1M rows in under 60 s with a peak RSS
under 1 GB, and its memory is flat from 100k to 1M (the largest run's peak at most 1.25 x the smallest's)."""

from __future__ import annotations

from bench.staging import StageRun, StreamResult
from bench.table import Row, fmt_int, fmt_mb, fmt_s

SECONDS_PER_MILLION = 60.0
PEAK_LIMIT_MB = 1024.0
FLAT_GROWTH = 1.25

NOUN = {"invoices": ("invoice lines", "lines", "drafts"), "transactions": ("transactions", "txns", "transactions")}


def size_label(n: int) -> str:
    return f"{n / 1_000_000:g}M" if n >= 1_000_000 else f"{n / 1000:g}k"


def _figures(run: StageRun) -> str:
    _, unit, _ = NOUN[run.stream]
    postgres = (f", its PostgreSQL backends {fmt_mb(run.postgres_peak_mb)}" if run.postgres_peak_mb is not None
                else ", PostgreSQL not on this machine")
    return (f"{fmt_s(run.seconds)}, {fmt_int(run.rows_per_second)} {unit}/s, {run.cpu_seconds:.1f} s CPU; "
            f"peak RSS {fmt_mb(run.python_peak_mb)}{postgres} ({run.samples} samples); load {run.load:.1f}")


def _what(run: StageRun, where: str) -> str:
    noun, _, docs = NOUN[run.stream]
    extra = f" / {fmt_int(run.window.documents)} {docs}" if run.stream == "invoices" else ""
    return f"Stage {fmt_int(run.window.rows)} {noun}{extra} {where}, one process"


def generation_row(result: StreamResult) -> Row:
    noun, unit, _ = NOUN[result.stream]
    s = result.source
    return Row.info(f"3.generate.{result.stream}", f"Generate the {noun} source (not part of staging)",
                    f"demo generator, nothing copied: {fmt_int(s.rows)} {noun} in {fmt_s(s.seconds)} "
                    f"({fmt_int(s.rows / s.seconds)} {unit}/s)")


def small_row(result: StreamResult) -> Row:
    run = result.small_median
    key = f"3.stage.{result.stream}.{size_label(run.nominal)}"
    label = _what(run, "into an empty outbox") + f", median of {len(result.small)}"
    if run.error:
        return Row.failed(key, label, run.error)
    each = ", ".join(fmt_s(r.seconds) for r in result.small)
    return Row.info(key, label, f"{_figures(run)}; runs: {each}")


def large_row(run: StageRun) -> Row:
    key = f"3.stage.{run.stream}.{size_label(run.nominal)}"
    label = _what(run, "into an empty outbox")
    limit = SECONDS_PER_MILLION * run.window.rows / 1_000_000
    target = f"< {fmt_s(limit)} (60 s per 1M), peak RSS < 1 GB"
    if run.error:
        return Row.failed(key, label, run.error, target)
    return Row.judged(key, label, _figures(run), target, run.seconds < limit and run.python_peak_mb < PEAK_LIMIT_MB)


def memory_row(result: StreamResult) -> Row:
    noun, _, _ = NOUN[result.stream]
    key = f"3.memory.{result.stream}"
    label = f"Staging memory as {noun} grow (peak RSS of the staging process)"
    small, large = result.small_median, result.large
    target = f"flat: the larger run's peak <= {FLAT_GROWTH:g} x the smaller's, < 1 GB"
    if large is None or small.error or large.error or not small.python_peak_mb:
        return Row.failed(key, label, "a staging run failed", target)
    growth = large.python_peak_mb / small.python_peak_mb
    result_text = (f"{size_label(small.nominal)}: {fmt_mb(small.python_peak_mb)}; "
                   f"{size_label(large.nominal)}: {fmt_mb(large.python_peak_mb)}; growth {growth:.2f} x")
    return Row.judged(key, label, result_text, target, growth <= FLAT_GROWTH and large.python_peak_mb < PEAK_LIMIT_MB)


def restage_row(result: StreamResult) -> Row:
    run, first = result.restage, result.large
    key = f"3.restage.{result.stream}"
    assert run is not None and first is not None
    label = _what(run, "again, unchanged (a backfill), into the outbox that holds it")
    if run.error:
        return Row.failed(key, label, run.error)
    return Row.info(key, label, f"{_figures(run)}; {run.seconds / first.seconds:.2f} x the first staging")


def into_full_row(result: StreamResult) -> Row:
    run, large = result.into_full, result.large
    assert run is not None and large is not None
    _, _, docs = NOUN[result.stream]
    key = f"3.into_full.{result.stream}"
    label = _what(run, f"into the outbox holding the {fmt_int(large.window.documents)} {docs} before them")
    if run.error:
        return Row.failed(key, label, run.error)
    empty = result.small_median
    per_row = (run.seconds / run.window.rows) / (empty.seconds / empty.window.rows)
    return Row.info(key, label, f"{_figures(run)}; {per_row:.2f} x the time per row into an empty outbox")


def rows(result: StreamResult) -> list[Row]:
    assert result.large is not None
    return [generation_row(result), small_row(result), large_row(result.large), memory_row(result),
            restage_row(result), into_full_row(result)]
