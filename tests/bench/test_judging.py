"""How the benchmark turns measurements into verdicts (pure functions, no servers)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bench.delivery import Outcome, RequestStats, request_stats
from bench.delivery_rows import parallel_row, rate_row, requests_row
from bench.delivery_setup import Contacts, Limiter, PreparedTenant, Scenario
from bench.stage_rows import large_row, memory_row
from bench.staging import Source, StageRun, StreamResult, Window
from bench.table import Row, Verdict, parse_keys, render


def outcome(*, docs: int = 10, customers: int = 3, contacts: Contacts = Contacts.MAPPED, stats: RequestStats,
            sent: int | None = None, wall: float = 5.0) -> Outcome:
    tenant = PreparedTenant(Scenario("s", docs, Limiter.DB, contacts), "t", "org", "C1", "url",
                            docs, customers, api_key="secret")
    return Outcome(tenant, wall, docs if sent is None else sent, None, 0.1, stats)


def log(times: list[float], status: int = 201, method: str = "POST", path: str = "/v1/invoices") -> list[dict]:
    return [{"t": t, "method": method, "path": path, "status": status, "fault": None} for t in times]


def paced(gap: float, *, docs: int = 10, offset: float = 0.0) -> RequestStats:
    """A profile GET, then ``docs`` invoice POSTs, ``gap`` seconds apart."""
    entries = log([offset], method="GET", path="/v1/profile") + log([offset + gap * (i + 1) for i in range(docs)])
    return request_stats(entries, since=0)


def test_request_stats_ignore_requests_before_the_start_and_count_429s() -> None:
    entries = log([1.0, 2.0]) + log([10.0], method="GET", path="/v1/profile") + log([10.5, 11.0]) + log(
        [11.2], status=429)
    stats = request_stats(entries, since=5.0)
    assert (stats.total, stats.invoice_posts, stats.too_many, stats.per_run) == (4, 2, 1, 1)
    assert stats.rate == pytest.approx(3 / 1.2)


def test_rate_target_needs_96_percent_and_no_429() -> None:
    assert rate_row("k", "m", outcome(stats=paced(0.5))).verdict == Verdict.MET
    assert rate_row("k", "m", outcome(stats=paced(0.55))).verdict == Verdict.MISSED
    entries = log([0.0], method="GET", path="/v1/profile") + log([0.5 * (i + 1) for i in range(10)])
    throttled = request_stats(entries + log([5.2], status=429), since=0)
    assert rate_row("k", "m", outcome(stats=throttled)).verdict == Verdict.MISSED


def test_a_draft_not_sent_fails_the_measurement() -> None:
    assert rate_row("k", "m", outcome(stats=paced(0.5, docs=9), sent=9)).verdict == Verdict.FAILED
    assert rate_row("k", "m", outcome(stats=paced(0.5, docs=11))).verdict == Verdict.FAILED  # a draft sent twice


def test_per_document_lookups_miss_the_request_target() -> None:
    posts = log([float(i) for i in range(10)])
    contacts = log([20.0, 21.0, 22.0], path="/v1/contacts")
    constant = log([0.0], method="GET", path="/v1/profile") + log([0.1], method="GET", path="/v1/contacts")
    good = request_stats(posts + contacts + constant, since=0)
    assert requests_row("k", "m", outcome(contacts=Contacts.NEW, stats=good)).verdict == Verdict.MET
    lookups = log([30.0 + i for i in range(10)], method="GET", path="/v1/contacts")
    bad = request_stats(posts + contacts + constant + lookups, since=0)
    assert requests_row("k", "m", outcome(contacts=Contacts.NEW, stats=bad)).verdict == Verdict.MISSED


def test_parallel_target_scales_with_the_number_of_tenants() -> None:
    single = outcome(stats=paced(0.5))
    together = [outcome(stats=paced(0.5, offset=n * 0.01)) for n in range(4)]
    assert parallel_row("k", "m", together, single).verdict == Verdict.MET
    one_after_another = [outcome(stats=paced(0.5, offset=n * 5.5)) for n in range(4)]
    assert parallel_row("k", "m", one_after_another, single).verdict == Verdict.MISSED


def stage_run(rows: int, *, seconds: float, peak: float) -> StageRun:
    window = Window(datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 1, tzinfo=timezone.utc), rows, rows)
    return StageRun("transactions", "large", rows, window, seconds=seconds, python_peak_mb=peak, postgres_peak_mb=100.0,
                    samples=10)


def test_stage_target_is_60_seconds_and_1_gb_per_million_rows_in_one_process() -> None:
    """Issue 16's bound: one staging process, 1M rows in under 60 s, peak RSS under 1 GB."""
    met = large_row(stage_run(1_000_000, seconds=59, peak=900))
    assert met.verdict == Verdict.MET and "one process" in met.measurement
    assert large_row(stage_run(1_000_000, seconds=61, peak=900)).verdict == Verdict.MISSED
    assert large_row(stage_run(1_000_000, seconds=30, peak=1100)).verdict == Verdict.MISSED


def test_memory_must_stay_flat() -> None:
    source = Source("url", "C1", 1_100_000, 60.0)

    def result(small_peak: float, large_peak: float) -> StreamResult:
        return StreamResult("transactions", source, small=[stage_run(100_000, seconds=5, peak=small_peak)],
                            large=stage_run(1_000_000, seconds=50, peak=large_peak))

    assert memory_row(result(200, 240)).verdict == Verdict.MET
    assert memory_row(result(200, 400)).verdict == Verdict.MISSED


def test_rendered_table_keeps_every_key_and_escapes_pipes() -> None:
    rows = [Row.info("a.1", "x | y", "r"), Row.judged("b.2", "m", "r", "t", True)]
    text = render(rows)
    assert parse_keys(text) == ["a.1", "b.2"]
    assert "x \\| y" in text


def test_parallel_ratio_uses_the_same_rate_formula_on_both_sides() -> None:
    """Eight tenants each exactly as fast as one, interleaved: the ratio is 8 (it read 8.07 when the aggregate
    side divided all requests, not the gaps between them, by the span)."""
    single = outcome(stats=paced(0.5))
    together = [outcome(stats=paced(0.5, offset=n * 0.5 / 8)) for n in range(8)]
    row = parallel_row("k", "m", together, single)
    ratio = float(row.result.split(" x one tenant")[0].split("= ")[-1])
    assert ratio <= 8.0


def test_a_slow_start_misses_the_wall_time_target_even_at_full_rate() -> None:
    """10 drafts at exactly 2/s, but the delivery took 8 s in all (e.g. reading the backlog before the first
    request): the rate is met, the wall time (<= 1.05 x 10/2 s) is not."""
    assert rate_row("k", "m", outcome(stats=paced(0.5), wall=5.2)).verdict == Verdict.MET
    assert rate_row("k", "m", outcome(stats=paced(0.5), wall=8.0)).verdict == Verdict.MISSED


def test_a_429_is_reported_beside_the_request_count_and_judged_by_the_rate_row() -> None:
    """A refused request is never executed: the count per draft is judged without it, the row names it, and the
    rate row (which judges 429s) misses."""
    entries = log([0.0], method="GET", path="/v1/profile") + log([0.52 * (i + 1) for i in range(10)])
    stats = request_stats(entries + log([5.9], status=429), since=0)
    row = requests_row("k", "m", outcome(stats=stats))
    assert row.verdict == Verdict.MET and "1 x 429" in row.result and "1.100/draft" in row.result
    assert rate_row("k", "m", outcome(stats=stats)).verdict == Verdict.MISSED
