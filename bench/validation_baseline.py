"""Vectorised validation against the per-row Python loop (``demo.oracles.reference_loop``), and columnar
document building against the per-row definition (``demo.oracles.reference_rows``): same rules, same rows.

Each pair gets the same prepared frames, read once from the staging source with the pipeline's own SQL, and
must agree on every document (same reasons; equal documents); otherwise the ratio would compare different work.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bench.stage_data import WINDOW_START, SourceData
from bench.table import Row, fmt_int, fmt_s


@dataclass(frozen=True)
class Comparison:
    documents: int
    rows: int
    vectorised: list[float]
    loop: list[float]
    mismatches: int

    @property
    def ratio(self) -> float:
        return statistics.median(self.loop) / statistics.median(self.vectorised)


def _read(source: SourceData, name: str, page: int, **extra: Any) -> list[Any]:
    """One page of the drafts window query and the drafts' lines as ``extract.Rows``."""
    from lexoffice.source.extract import fetch, query

    after = "after_event_at" if name.startswith("invoice") else "after_completed_at"
    statement = query(name, datetimes=("start", "end", after))
    engine = sa.create_engine(source.url)
    try:
        with engine.connect() as conn:
            rows = fetch(conn, statement, {
                "company_id": source.company_id, "start": WINDOW_START, "end": WINDOW_START.replace(year=2100),
                after: WINDOW_START, "after_id": "", "page_size": page, **extra})
            lines = fetch(conn, query("invoice_draft_lines.sql", expanding=("draft_ids",)),
                          {"draft_ids": rows.column("id")})
            return [rows, lines]
    finally:
        engine.dispose()


def _codes(verdicts: Any) -> list[list[str]]:
    return [[reason.code for reason in reasons] for reasons in verdicts["reasons"]]


def _time(function: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    seconds, result = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - began)
    return seconds, result


@functools.lru_cache(maxsize=4)
def _invoice_frames(source: SourceData, drafts: int) -> tuple[Any, Any]:
    """One page of prepared (drafts, lines) frames, read once for all comparisons that use it."""
    from lexoffice.source import frames

    draft_rows, line_rows = _read(source, "invoice_drafts_window.sql", drafts)
    return (frames.from_columns(frames.DRAFTS, draft_rows.columns, draft_rows.values),
            frames.from_columns(frames.LINES, line_rows.columns, line_rows.values))


@functools.lru_cache(maxsize=4)
def _transaction_frame(source: SourceData, transactions: int) -> Any:
    """The first page of prepared transactions (with their accounts' columns), as staging reads it."""
    from lexoffice.source.transactions import iter_transaction_frames

    engine = sa.create_engine(source.url)
    try:
        with closing(iter_transaction_frames(engine, company_id=source.company_id, start=WINDOW_START,
                                             end=WINDOW_START.replace(year=2100), chunk_size=transactions)) as pages:
            return next(pages)
    finally:
        engine.dispose()


def _compare(fast: Callable[[], Any], slow: Callable[[], Any], comparable: Callable[[Any], list[Any]], *,
             documents: int, rows: int, repeats: int) -> Comparison:
    """Time both on the same input; count the documents whose ``comparable`` results differ."""
    fast_seconds, fast_result = _time(fast, repeats)
    slow_seconds, slow_result = _time(slow, repeats)
    mismatches = sum(a != b for a, b in zip(comparable(fast_result), comparable(slow_result), strict=True))
    return Comparison(documents, rows, fast_seconds, slow_seconds, mismatches)


def compare_invoices(source: SourceData, drafts: int, repeats: int) -> Comparison:
    from lexoffice.validation.invoices import validate_invoices
    from demo.oracles.reference_loop import validate_invoices_loop

    d, lines = _invoice_frames(source, drafts)
    return _compare(lambda: validate_invoices(d, lines), lambda: validate_invoices_loop(d, lines), _codes,
                    documents=len(d), rows=len(lines), repeats=repeats)


def compare_transactions(source: SourceData, transactions: int, repeats: int) -> Comparison:
    from demo.oracles.reference_loop import validate_transactions_loop
    from lexoffice.validation.transactions import validate_transactions

    t = _transaction_frame(source, transactions)
    return _compare(lambda: validate_transactions(t), lambda: validate_transactions_loop(t), _codes,
                    documents=len(t), rows=len(t), repeats=repeats)


def compare_invoice_building(source: SourceData, drafts: int, repeats: int) -> Comparison:
    """Staging's columnar builder against the per-row definition (``reference_rows``), same pages."""
    from demo.oracles import reference_rows
    from lexoffice.staging.invoices import build_invoice_documents

    d, lines = _invoice_frames(source, drafts)
    return _compare(lambda: build_invoice_documents(d, lines), lambda: reference_rows.invoice_documents(d, lines),
                    list, documents=len(d), rows=len(lines), repeats=repeats)


def compare_transaction_building(source: SourceData, transactions: int, repeats: int) -> Comparison:
    from demo.oracles import reference_rows
    from lexoffice.staging.transactions import build_transaction_documents

    t = _transaction_frame(source, transactions)
    return _compare(lambda: build_transaction_documents(t), lambda: reference_rows.transaction_documents(t),
                    list, documents=len(t), rows=len(t), repeats=repeats)


def _row(key: str, label: str, c: Comparison, *, fast: str, agreement: str, note: str = "") -> Row:
    size = (f"{fmt_int(c.documents)} drafts / {fmt_int(c.rows)} lines" if c.rows != c.documents
            else f"{fmt_int(c.documents)} transactions")
    if c.mismatches:
        return Row.failed(key, label, f"the two disagree on {c.mismatches} of {c.documents} documents ({size})")
    result = (f"{fmt_s(statistics.median(c.vectorised))} vs {fmt_s(statistics.median(c.loop))} for {size}{note}: "
              f"{fast} is {c.ratio:.1f} x faster; {agreement}")
    return Row.info(key, label, result)


def build_row(key: str, what: str, comparison: Comparison) -> Row:
    label = f"Building documents, {what}: columnar vs per-row definition (median of {len(comparison.loop)})"
    return _row(key, label, comparison, fast="columnar", agreement="equal documents",
                note=" (validation included)")


def row(key: str, what: str, comparison: Comparison) -> Row:
    label = f"Validation baseline, {what}: vectorised vs per-row loop (median of {len(comparison.loop)})"
    return _row(key, label, comparison, fast="vectorised", agreement="same reasons for every document")
