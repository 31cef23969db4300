"""Source data for the staging benchmark: a generated base, replicated in SQL up to the largest size.

The demo generator writes about 2,000 to 4,000 rows/s in Python, too slow to build a million invoice lines
and a million transactions inside the 15-minute budget. So it generates a base (``1/replicas`` of the
largest size, seeded, with the usual 5 % broken rows), and PostgreSQL copies that base with fresh ids
(``<id>~<copy>``) until the largest size is reached. Copies keep their timestamps, so a time window holds the
same share of every copy and a window can be cut to any size. Both times are reported.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

GENERATED_START = date(2025, 1, 1)
GENERATED_DAYS = 365
WINDOW_START = datetime(2024, 12, 31, tzinfo=timezone.utc)
MEAN_LINES_PER_DRAFT = 3.5      # the generator's default of 1 to 6 lines
OWN_ACCOUNTS, FOREIGN_ACCOUNTS = 4, 1
COMPLETED_SHARE = 0.95          # transactions that never complete are not read by windows


@dataclass(frozen=True)
class SourceData:
    url: str
    company_id: str
    generated_rows: int
    generated_seconds: float
    total_rows: int
    replicate_seconds: float


@dataclass(frozen=True)
class StageWindow:
    start: datetime
    end: datetime
    rows: int        # invoice lines or transactions in the window
    documents: int   # drafts or transactions in the window


_INVOICE_COPY = """
INSERT INTO invoice_drafts (id, company_id, customer_id, number, origin, work_order_id, contract_id, voucher_date,
    title, introduction, remark, currency, tax_type, service_date, service_period_start, service_period_end,
    created_at, updated_at)
SELECT d.id || '~' || k, d.company_id, d.customer_id, d.number, d.origin, d.work_order_id, d.contract_id,
    d.voucher_date, d.title, d.introduction, d.remark, d.currency, d.tax_type, d.service_date,
    d.service_period_start, d.service_period_end, d.created_at, d.updated_at
FROM invoice_drafts d CROSS JOIN generate_series(1, :copies) AS k
"""
_LINE_COPY = """
INSERT INTO invoice_draft_lines (id, draft_id, position, type, name, description, quantity, unit_name, unit_price,
    price_kind, tax_rate, discount_percentage)
SELECT l.id || '~' || k, l.draft_id || '~' || k, l.position, l.type, l.name, l.description, l.quantity,
    l.unit_name, l.unit_price, l.price_kind, l.tax_rate, l.discount_percentage
FROM invoice_draft_lines l CROSS JOIN generate_series(1, :copies) AS k
"""
_TRANSACTION_COPY = """
INSERT INTO transactions (id, account_id, kind, status, amount, currency, booking_date, value_date, completed_at,
    counterparty_name, counterparty_iban, purpose, updated_at)
SELECT t.id || '~' || k, t.account_id, t.kind, t.status, t.amount, t.currency, t.booking_date, t.value_date,
    t.completed_at, t.counterparty_name, t.counterparty_iban, t.purpose, t.updated_at
FROM transactions t CROSS JOIN generate_series(1, :copies) AS k
"""


def _replicate(engine: sa.Engine, statements: list[str], copies: int) -> float:
    began = time.perf_counter()
    if copies > 0:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement), {"copies": copies})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - began


def build_invoices(url: str, *, largest: int, replicas: int, seed: int = 42) -> SourceData:
    """At least ``largest`` invoice lines for one company: 1/replicas generated, the rest copied."""
    from demo.generate import generate_fieldservice

    engine = sa.create_engine(url)
    try:
        began = time.perf_counter()
        drafts = math.ceil(largest / replicas / MEAN_LINES_PER_DRAFT * 1.03)
        generated = generate_fieldservice(engine, seed=seed, companies=1, drafts_per_company=drafts,
                                          start=GENERATED_START, days=GENERATED_DAYS, collect_expected=False)
        generated_seconds = time.perf_counter() - began
        base = generated["counts"]["invoice_draft_lines"]
        copies = max(0, math.ceil(largest / base) - 1)
        replicate_seconds = _replicate(engine, [_INVOICE_COPY, _LINE_COPY], copies)
    finally:
        engine.dispose()
    return SourceData(url, generated["company_ids"][0], base, generated_seconds, base * (copies + 1),
                      replicate_seconds)


def build_transactions(url: str, *, largest: int, replicas: int, seed: int = 42) -> SourceData:
    """At least ``largest`` completed transactions of own accounts for one bank customer: 1/replicas generated,
    the rest copied."""
    from demo.generate import generate_bank

    engine = sa.create_engine(url)
    try:
        began = time.perf_counter()
        # Windows read the own accounts only (the others are out of scope), so they must hold ``largest``.
        per_account = math.ceil(largest / replicas / OWN_ACCOUNTS / COMPLETED_SHARE * 1.02)
        generated = generate_bank(engine, seed=seed, companies=1, accounts_per_company=OWN_ACCOUNTS,
                                  foreign_accounts_per_company=FOREIGN_ACCOUNTS, transactions_per_account=per_account,
                                  start=GENERATED_START, days=GENERATED_DAYS, collect_expected=False)
        generated_seconds = time.perf_counter() - began
        with engine.connect() as conn:
            completed = sa.text("SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id "
                                "WHERE a.is_own AND t.completed_at IS NOT NULL")
            base = conn.execute(completed).scalar_one()
        copies = max(0, math.ceil(largest / base) - 1)
        replicate_seconds = _replicate(engine, [_TRANSACTION_COPY], copies)
    finally:
        engine.dispose()
    return SourceData(url, generated["company_ids"][0], int(base), generated_seconds, int(base) * (copies + 1),
                      replicate_seconds)


_INVOICE_EVENTS = """
SELECT COALESCE(d.updated_at, d.created_at) AS event_at, d.id, count(l.id) AS rows
FROM invoice_drafts d LEFT JOIN invoice_draft_lines l ON l.draft_id = d.id
WHERE d.company_id = :company_id AND COALESCE(d.updated_at, d.created_at) >= :start
GROUP BY d.id
"""
# Own accounts only: a window does not read accounts at other banks (out of scope, transactions_window.sql).
_TRANSACTION_EVENTS = """
SELECT t.completed_at AS event_at, t.id, 1 AS rows
FROM transactions t JOIN accounts a ON a.id = t.account_id
WHERE a.company_id = :company_id AND a.is_own AND t.completed_at >= :start
"""


def _window(url: str, events_sql: str, company_id: str, size: int) -> StageWindow:
    """The shortest window from WINDOW_START that holds at least ``size`` rows, and exactly what it holds.

    ``events_sql`` yields one row per document: its cursor time, id and how many rows (lines) it brings.
    """
    params = {"company_id": company_id, "start": WINDOW_START}
    cumulative = ("SELECT event_at, sum(rows) OVER (ORDER BY event_at, id ROWS UNBOUNDED PRECEDING) AS cum "
                  f"FROM ({events_sql}) e")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            boundary = conn.execute(sa.text(f"SELECT min(event_at) FROM ({cumulative}) c WHERE cum >= :size"),
                                    {**params, "size": size}).scalar_one()
            if boundary is None:
                raise RuntimeError(f"the source holds fewer than {size:,} rows")
            end = boundary + timedelta(microseconds=1)  # the window is half-open; ties at the boundary come along
            rows, documents = conn.execute(
                sa.text(f"SELECT coalesce(sum(rows), 0), count(*) FROM ({events_sql}) e WHERE event_at < :end"),
                {**params, "end": end}).one()
    finally:
        engine.dispose()
    return StageWindow(WINDOW_START, end, int(rows), int(documents))


def invoice_window(url: str, company_id: str, lines: int) -> StageWindow:
    return _window(url, _INVOICE_EVENTS, company_id, lines)


def transaction_window(url: str, company_id: str, transactions: int) -> StageWindow:
    return _window(url, _TRANSACTION_EVENTS, company_id, transactions)
