"""The rows of the documents and transactions views: the source joined with the outbox, one page at a time.

One row per source document, so drafts that no run has staged yet show too ("nicht gesendet"). The source
and the state database are different databases, so the join happens per page: a keyset page of source rows
(served by the source's own indexes, the same cost on the first and the thousandth page), then their outbox
rows by key. A state filter keeps reading source pages until the page is full or ``MAX_SCAN`` rows were
looked at; the cursor then continues where the scan stopped, so no request grows with the table.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from lexoffice.documents import Stream
from lexoffice.payloads import invoice_doc_key, transaction_doc_key
from lexoffice.source import tables as src
from lexoffice.state import lexware_status, outbox
from lexoffice.ui.texts import UI_STATES, ui_state
from lexoffice.staging.windows import day_start, parse_day

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
MAX_SCAN = 5000  # source rows one request may look at while filtering by state


class QueryError(ValueError):
    """A filter or cursor a person (or a stale link) sent is malformed; the message names the field."""


@dataclass(frozen=True)
class Query:
    """What a person asked for: filters, order and where the page starts."""

    states: frozenset[str] = frozenset()
    from_day: date | None = None
    to_day: date | None = None  # inclusive
    text: str = ""
    newest_first: bool = True
    page_size: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None
    account_id: str | None = None  # transactions only

    @classmethod
    def parse(cls, *, state: Sequence[str] = (), from_day: str | None = None, to_day: str | None = None,
              text: str | None = None, order: str | None = None, page_size: int | None = None,
              cursor: str | None = None, account: str | None = None) -> Query:
        unknown = [s for s in state if s and s not in UI_STATES]
        if unknown:
            raise QueryError(f"Filter 'state': {', '.join(unknown)} gibt es nicht; erlaubt: {', '.join(UI_STATES)}")
        if order not in (None, "", "newest", "oldest"):
            raise QueryError(f"Sortierung 'order' {order!r} gibt es nicht; erlaubt: newest, oldest")
        size = page_size or DEFAULT_PAGE_SIZE
        if size not in PAGE_SIZES:
            raise QueryError(f"Seitengröße 'page_size' {size} gibt es nicht; erlaubt: "
                             f"{', '.join(map(str, PAGE_SIZES))}")
        try:
            start = parse_day(from_day, "from") if from_day else None
            end = parse_day(to_day, "to") if to_day else None
        except ValueError as err:
            raise QueryError(str(err)) from err
        if start and end and end < start:
            raise QueryError(f"Zeitraum: 'to' ({end}) liegt vor 'from' ({start}); bitte tauschen")
        return cls(states=frozenset(s for s in state if s), from_day=start, to_day=end, text=(text or "").strip(),
                   newest_first=order != "oldest", page_size=size, cursor=cursor or None,
                   account_id=account or None)


@dataclass(frozen=True)
class DocumentRow:
    source_id: str
    number: str
    origin: str  # invoices: work_order / contract / manual; transactions: the account's name
    party: str  # invoices: the customer; transactions: the counterparty
    day: date | None  # invoices: voucher date; transactions: booking date
    event_at: datetime | None  # invoices: created or changed; transactions: completed
    amount: float | None
    state: str  # a UI state (texts.UI_STATES)
    outbox_state: str | None
    sent_at: datetime | None
    lexware_id: str | None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    last_error: str | None = None
    changed_after_send: bool = False
    purpose: str = ""
    lexware_status: str | None = None  # invoices: what the accountant did with the draft (the nightly status step)
    voucher_number: str | None = None  # invoices: the invoice number once finalized in Lexware


@dataclass(frozen=True)
class Page:
    rows: list[DocumentRow]
    next_cursor: str | None  # None: this was the last page
    scanned: int  # source rows looked at (tests and the benchmark read it)


# ----------------------------------------------------------------------------------------------- the cursor


def _encode(event_at: datetime | None, source_id: str) -> str:
    raw = json.dumps([event_at.isoformat() if event_at else None, source_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime | None, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, source_id = json.loads(raw)
        return (datetime.fromisoformat(stamp) if stamp else None), str(source_id)
    except (ValueError, TypeError) as err:
        raise QueryError("Parameter 'cursor' ist ungültig (veralteter Link?); bitte zum Anfang der Liste") from err


# --------------------------------------------------------------------------------------- source statements


def _keyset(order_col: Any, id_col: Any, query: Query, after: tuple[datetime | None, str] | None) -> list[Any]:
    """Rows after the cursor in the page's order (both views' times are NOT NULL: created_at, completed_at)."""
    if after is None:
        return []
    stamp, source_id = after
    if stamp is None:
        raise QueryError("Parameter 'cursor' ist ungültig (ohne Zeit); bitte zum Anfang der Liste")
    row, bound = sa.tuple_(order_col, id_col), sa.tuple_(sa.literal(stamp, order_col.type), sa.literal(source_id))
    return [row < bound if query.newest_first else row > bound]


def _period(order_col: Any, query: Query) -> list[Any]:
    conditions = []
    if query.from_day:
        conditions.append(order_col >= sa.literal(day_start(query.from_day), order_col.type))
    if query.to_day:
        conditions.append(order_col < sa.literal(day_start(query.to_day + timedelta(days=1)), order_col.type))
    return conditions


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _invoice_statement(company_id: str, query: Query, after: Any, limit: int) -> sa.Select[Any]:
    d, cu = src.invoice_drafts, src.customers
    event_at = sa.func.coalesce(d.c.updated_at, d.c.created_at).label("event_at")
    # type_coerce keeps the UTC conversion of the source's timestamp type on COALESCE's result
    event_col = sa.type_coerce(sa.func.coalesce(d.c.updated_at, d.c.created_at), d.c.created_at.type)
    customer = sa.func.coalesce(
        sa.func.nullif(cu.c.company_name, ""),
        sa.func.trim(sa.func.coalesce(cu.c.first_name, "") + " " + sa.func.coalesce(cu.c.last_name, "")),
    )
    conditions = [d.c.company_id == company_id, *_period(event_col, query), *_keyset(event_col, d.c.id, query, after)]
    if query.text:
        pattern = _like(query.text)
        conditions.append(sa.or_(d.c.number.ilike(pattern, escape="\\"), d.c.id.ilike(pattern, escape="\\"),
                                 customer.ilike(pattern, escape="\\")))
    direction = sa.desc if query.newest_first else sa.asc
    return (
        sa.select(d.c.id, d.c.number, d.c.origin, d.c.voucher_date, sa.type_coerce(event_at, d.c.created_at.type)
                  .label("event_at"), customer.label("party"))
        .select_from(d.outerjoin(cu, sa.and_(cu.c.id == d.c.customer_id, cu.c.company_id == d.c.company_id)))
        .where(*conditions)
        .order_by(direction(event_col), direction(d.c.id))
        .limit(limit)
    )


def _gross_amounts(conn: sa.Connection, draft_ids: list[str]) -> dict[str, float]:
    """Gross total per draft from its lines (net lines plus their tax), as the office expects to see it."""
    if not draft_ids:
        return {}
    ln = src.invoice_draft_lines
    discount = 1 - sa.func.coalesce(ln.c.discount_percentage, 0) / 100.0
    tax = sa.case((ln.c.price_kind == "net", 1 + sa.func.coalesce(ln.c.tax_rate, 0) / 100.0), else_=1.0)
    total = sa.func.sum(ln.c.quantity * ln.c.unit_price * discount * tax)
    result = conn.execute(sa.select(ln.c.draft_id, total).where(ln.c.draft_id.in_(draft_ids), ln.c.type == "custom")
                          .group_by(ln.c.draft_id))
    return {draft_id: round(float(value), 2) for draft_id, value in result if value is not None}


def _transaction_statement(company_id: str, query: Query, after: Any, limit: int) -> sa.Select[Any]:
    t, a = src.transactions, src.accounts
    conditions = [a.c.company_id == company_id, a.c.is_own.is_(True), t.c.status == "completed",
                  t.c.completed_at.is_not(None), *_period(t.c.completed_at, query),
                  *_keyset(t.c.completed_at, t.c.id, query, after)]
    if query.account_id:
        conditions.append(a.c.id == query.account_id)
    if query.text:
        pattern = _like(query.text)
        conditions.append(sa.or_(t.c.counterparty_name.ilike(pattern, escape="\\"),
                                 t.c.purpose.ilike(pattern, escape="\\"), t.c.id.ilike(pattern, escape="\\")))
    direction = sa.desc if query.newest_first else sa.asc
    return (
        sa.select(t.c.id, t.c.amount, t.c.counterparty_name.label("party"), t.c.purpose, t.c.booking_date,
                  t.c.completed_at.label("event_at"), sa.func.coalesce(a.c.name, a.c.iban).label("account"))
        .select_from(t.join(a, a.c.id == t.c.account_id))
        .where(*conditions)
        .order_by(direction(t.c.completed_at), direction(t.c.id))
        .limit(limit)
    )


def accounts(source: sa.Engine, company_id: str) -> list[tuple[str, str]]:
    """(account id, name) of a bank company's own accounts, for the account filter."""
    a = src.accounts
    with source.connect() as conn:
        return [(r.id, r.name or r.iban) for r in conn.execute(
            sa.select(a.c.id, a.c.name, a.c.iban).where(a.c.company_id == company_id, a.c.is_own.is_(True))
            .order_by(a.c.name, a.c.id))]


# ---------------------------------------------------------------------------------------------- the page


def page(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant_id: str, stream: Stream, company_id: str,
         query: Query, queued: Collection[str] = ()) -> Page:
    """One page of rows. ``queued``: source ids in the selection of a run that has not finished yet."""
    after = _decode(query.cursor) if query.cursor else None
    statement: Callable[..., sa.Select[Any]]
    if stream == Stream.INVOICES:
        statement, doc_key = _invoice_statement, invoice_doc_key
    else:
        statement, doc_key = _transaction_statement, transaction_doc_key
    queued_ids = set(queued)
    batch = query.page_size if not query.states else max(query.page_size * 4, 200)
    rows: list[DocumentRow] = []
    scanned = 0
    more = True
    while len(rows) < query.page_size and scanned < MAX_SCAN:
        with source_engine.connect() as conn:
            source_rows = conn.execute(statement(company_id, query, after, batch)).all()
            amounts = _gross_amounts(conn, [r.id for r in source_rows]) if stream == Stream.INVOICES else {}
        scanned += len(source_rows)
        more = len(source_rows) == batch
        keys = [doc_key(r.id) for r in source_rows]
        stored = {r.doc_key: r for r in outbox.rows(state_engine, tenant_id=tenant_id, stream=stream, doc_keys=keys)}
        in_lexware = lexware_status.statuses(state_engine, tenant_id=tenant_id, stream=str(stream), doc_keys=keys) \
            if stream == Stream.INVOICES else {}
        for source_row, key in zip(source_rows, keys, strict=True):
            after = (source_row.event_at, source_row.id)
            row = _row(stream, source_row, stored.get(key), source_row.id in queued_ids, amounts, in_lexware.get(key))
            if query.states and row.state not in query.states:
                continue
            rows.append(row)
            if len(rows) == query.page_size:
                more = more or source_row is not source_rows[-1]
                break
        if not more:
            break
    next_cursor = _encode(*after) if more and after is not None else None
    return Page(rows=rows, next_cursor=next_cursor, scanned=scanned)


def _row(stream: Stream, source: Any, stored: outbox.OutboxRow | None, queued: bool,
         amounts: dict[str, float], in_lexware: lexware_status.StatusRow | None = None) -> DocumentRow:
    state = ui_state(str(stored.state) if stored else None, queued=queued)
    common = {
        "source_id": source.id, "event_at": source.event_at, "state": state,
        "outbox_state": str(stored.state) if stored else None, "sent_at": stored.sent_at if stored else None,
        "lexware_id": stored.lexware_id if stored else None, "reasons": list(stored.reasons) if stored else [],
        "last_error": stored.last_error if stored else None,
        "changed_after_send": bool(stored.changed_after_send) if stored else False,
    }
    if stream == Stream.INVOICES:
        return DocumentRow(number=source.number or source.id, origin=source.origin or "manual",
                           party=source.party or "", day=source.voucher_date, amount=amounts.get(source.id),
                           lexware_status=in_lexware.status if in_lexware else None,
                           voucher_number=in_lexware.voucher_number if in_lexware else None, **common)
    return DocumentRow(number=source.id, origin=source.account or "", party=source.party or "",
                       day=source.booking_date, amount=float(source.amount) if source.amount is not None else None,
                       purpose=source.purpose or "", **common)
