"""The rows of the documents and transactions views: the source joined with the outbox, one page at a time.

One row per source document, so drafts that no run has staged yet show too ("nicht gesendet"). The source
and the state database are different databases, so the join happens per page. A sort order is a list of
*segments*, each walked with a keyset on (its key, source id) in one database: a column of the source
(number, customer, dates, amounts) is one segment of the rows that have a value and one of those without
(NULLs last in both directions); state and "Datum senden" live in the outbox, so their segments walk the
outbox (by state, or by ``sent_at``) and look their source rows up by id, while documents the outbox does not
know (never staged, or not sent yet) come from a walk of the source in id order. A request reads at most
``MAX_SCAN`` rows; the cursor names the segment and the last (key, id) read, so it continues exactly there:
no row is lost or shown twice, and no request grows with the table.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from lexoffice.documents import Stream
from lexoffice.payloads import MAX_SOURCE_ID
from lexoffice.source import tables as src
from lexoffice.state import lexware_status, outbox
from lexoffice.state.schema import outbox as outbox_table
from lexoffice.streams import spec_of
from lexoffice.ui.texts import UI_STATES, ui_state
from lexoffice.staging.windows import day_start, parse_day

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
MAX_SCAN = 5000  # rows one request may look at (a state filter; a sort by state or Datum senden)
SORT_NAMES = ("time", "number", "customer", "voucher_date", "gross", "amount", "counterparty", "state", "sent_at")


class QueryError(ValueError):
    """A filter or cursor a person (or a stale link) sent is malformed; the message names the field."""


@dataclass(frozen=True)
class Query:
    """What a person asked for: filters, order and where the page starts."""

    states: frozenset[str] = frozenset()
    from_day: date | None = None
    to_day: date | None = None  # inclusive
    text: str = ""
    sort: str = "time"  # one of SORTS[stream]; "time": created or changed (invoices), completed (transactions)
    descending: bool = True
    page_size: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None
    account_id: str | None = None  # transactions only

    @classmethod
    def parse(cls, *, state: Sequence[str] = (), from_day: str | None = None, to_day: str | None = None,
              text: str | None = None, order: str | None = None, page_size: int | None = None,
              cursor: str | None = None, account: str | None = None, sort: str | None = None,
              direction: str | None = None) -> Query:
        unknown = [s for s in state if s and s not in UI_STATES]
        if unknown:
            raise QueryError(f"Filter 'state': {', '.join(unknown)} gibt es nicht; erlaubt: {', '.join(UI_STATES)}")
        if order not in (None, "", "newest", "oldest"):
            raise QueryError(f"Sortierung 'order' {order!r} gibt es nicht; erlaubt: newest, oldest")
        if sort not in (None, "", *SORT_NAMES):
            raise QueryError(f"Sortierung 'sort' {sort!r} gibt es nicht; erlaubt: {', '.join(SORT_NAMES)}")
        if direction not in (None, "", "asc", "desc"):
            raise QueryError(f"Richtung 'dir' {direction!r} gibt es nicht; erlaubt: asc (aufsteigend), desc "
                             "(absteigend)")
        key = sort or "time"  # 'order' (newest/oldest) is the older spelling of sort=time
        descending = direction == "desc" if direction else (key == "time" and order != "oldest")
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
                   sort=key, descending=descending, page_size=size, cursor=cursor or None,
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


# ----------------------------------------------------------------------------------------------- sort orders

INVOICE_SORTS = ("time", "number", "customer", "voucher_date", "gross", "state", "sent_at")
TRANSACTION_SORTS = ("time", "amount", "counterparty", "state", "sent_at")
# The stored states of each UI state (texts.ui_state), in the order "Status aufsteigend" shows them; "nicht
# gesendet" also holds every document the outbox does not know. "in Warteschlange" is not stored: a queued row
# sorts where its stored state puts it.
STATE_ORDER: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (name, frozenset(s.value for s in outbox.DocState if ui_state(s.value, queued=False) == name))
    for name in UI_STATES if name != "queued")


@dataclass(frozen=True)
class _Segment:
    """One part of a sort order, walked with a keyset on (key, id) in one database."""

    in_outbox: bool  # walked in the outbox (by doc key), its rows looked up in the source by id
    key: Any = None  # the ordering expression before the id; None: by id alone
    where: tuple[Any, ...] = ()  # which rows belong to the segment
    keep: Callable[[outbox.OutboxRow | None], bool] | None = None  # source walks: which rows belong, by outbox row


def _segments(sort: str, descending: bool, columns: dict[str, Any]) -> list[_Segment]:
    """The segments of a sort order, in the order the pages show them."""
    o = outbox_table.c
    if sort == "state":
        unstaged = dict(STATE_ORDER)["not_sent"]
        parts = [_Segment(False, keep=lambda row: row is None or row.state in unstaged) if name == "not_sent"
                 else _Segment(True, where=(o.state.in_(sorted(stored)),)) for name, stored in STATE_ORDER]
        return parts[::-1] if descending else parts
    if sort == "sent_at":  # "Datum senden"; documents not sent (yet) last
        return [_Segment(True, key=o.sent_at, where=(o.sent_at.is_not(None),)),
                _Segment(False, keep=lambda row: row is None or row.sent_at is None)]
    key = columns[sort]
    if sort == "time":  # created/changed, completed: NOT NULL in both sources
        return [_Segment(False, key=key)]
    return [_Segment(False, key=key, where=(key.is_not(None),)), _Segment(False, where=(key.is_(None),))]


# ----------------------------------------------------------------------------------------------- the cursor


def _encode(query: Query, segment: int, bound: tuple[Any, str] | None) -> str:
    """Where the next page starts: the segment, and the last (key, id) read in it (None: its beginning)."""
    last: list[Any] | None = None
    if bound is not None:
        value, last_id = bound
        if isinstance(value, datetime):
            value = {"datetime": value.isoformat()}
        elif isinstance(value, date):
            value = {"date": value.isoformat()}
        elif isinstance(value, Decimal):
            value = float(value)
        last = [value, last_id]
    raw = json.dumps([query.sort, query.descending, segment, last])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, query: Query) -> tuple[int, tuple[Any, str] | None]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sort, descending, segment, last = json.loads(raw)
        bound = None
        if last is not None:
            value, last_id = last
            if isinstance(value, dict):
                value = (datetime.fromisoformat(value["datetime"]) if "datetime" in value
                         else date.fromisoformat(value["date"]))
            bound = (value, str(last_id))
    except (ValueError, TypeError, KeyError) as err:
        raise QueryError("Parameter 'cursor' ist ungültig (veralteter Link?); bitte zum Anfang der Liste") from err
    if (sort, descending) != (query.sort, query.descending) or not isinstance(segment, int) or segment < 0:
        raise QueryError("Parameter 'cursor' gehört zu einer anderen Sortierung (veralteter Link?); bitte zum "
                         "Anfang der Liste")
    return segment, bound


# --------------------------------------------------------------------------------------- source statements


def _after(key: Any, id_col: Any, descending: bool, bound: tuple[Any, str] | None) -> list[Any]:
    """Rows after ``bound`` in (key, id) order; one row comparison, so an index on (…, key, id) serves it."""
    if bound is None:
        return []
    value, last_id = bound
    if key is None:
        return [id_col < last_id if descending else id_col > last_id]
    row, limit = sa.tuple_(key, id_col), sa.tuple_(sa.literal(value, key.type), sa.literal(last_id))
    return [row < limit if descending else row > limit]


def _ordered(statement: sa.Select[Any], key: Any, id_col: Any, descending: bool) -> sa.Select[Any]:
    direction = sa.desc if descending else sa.asc
    keys = [id_col] if key is None else [key, id_col]
    return statement.order_by(*(direction(k) for k in keys))


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


def _line_gross(ln: Any) -> Any:
    """A line's gross amount (net lines plus their tax, after discount), as the office expects to see it."""
    discount = 1 - sa.func.coalesce(ln.c.discount_percentage, 0) / 100.0
    tax = sa.case((ln.c.price_kind == "net", 1 + sa.func.coalesce(ln.c.tax_rate, 0) / 100.0), else_=1.0)
    return ln.c.quantity * ln.c.unit_price * discount * tax


def _invoice_source(company_id: str, query: Query) -> tuple[sa.Select[Any], Any, dict[str, Any]]:
    """The filtered drafts (no order yet), their id column, and the expressions each sort key orders by."""
    d, cu, ln = src.invoice_drafts, src.customers, src.invoice_draft_lines
    # type_coerce keeps the UTC conversion of the source's timestamp type on COALESCE's result
    event_col = sa.type_coerce(sa.func.coalesce(d.c.updated_at, d.c.created_at), d.c.created_at.type)
    customer = sa.func.coalesce(
        sa.func.nullif(cu.c.company_name, ""),
        sa.func.trim(sa.func.coalesce(cu.c.first_name, "") + " " + sa.func.coalesce(cu.c.last_name, "")),
    )
    conditions = [d.c.company_id == company_id, *_period(event_col, query)]
    if query.text:
        pattern = _like(query.text)
        conditions.append(sa.or_(d.c.number.ilike(pattern, escape="\\"), d.c.id.ilike(pattern, escape="\\"),
                                 customer.ilike(pattern, escape="\\")))
    joined = d.outerjoin(cu, sa.and_(cu.c.id == d.c.customer_id, cu.c.company_id == d.c.company_id))
    gross: Any = sa.null()
    if query.sort == "gross":  # the company's totals, aggregated once per page query (not once per draft)
        totals = (sa.select(ln.c.draft_id, sa.func.sum(_line_gross(ln)).label("gross"))
                  .select_from(ln.join(d, d.c.id == ln.c.draft_id))
                  .where(d.c.company_id == company_id, ln.c.type == "custom").group_by(ln.c.draft_id).subquery())
        joined = joined.outerjoin(totals, totals.c.draft_id == d.c.id)
        gross = sa.type_coerce(totals.c.gross, sa.Float)
    statement = (
        sa.select(d.c.id, d.c.number, d.c.origin, d.c.voucher_date, event_col.label("event_at"),
                  customer.label("party"))
        .select_from(joined)
        .where(*conditions)
    )
    # plain columns where an index of the source can serve the order (include/sql/fieldservice_schema.sql)
    columns = {"time": event_col, "number": d.c.number, "customer": sa.func.nullif(customer, ""),
               "voucher_date": d.c.voucher_date, "gross": gross}
    return statement, d.c.id, columns


def _gross_amounts(conn: sa.Connection, draft_ids: list[str]) -> dict[str, float]:
    """Gross total per draft from its lines."""
    if not draft_ids:
        return {}
    ln = src.invoice_draft_lines
    result = conn.execute(sa.select(ln.c.draft_id, sa.func.sum(_line_gross(ln)))
                          .where(ln.c.draft_id.in_(draft_ids), ln.c.type == "custom").group_by(ln.c.draft_id))
    return {draft_id: round(float(value), 2) for draft_id, value in result if value is not None}


def _transaction_source(company_id: str, query: Query) -> tuple[sa.Select[Any], Any, dict[str, Any]]:
    t, a = src.transactions, src.accounts
    conditions = [a.c.company_id == company_id, a.c.is_own.is_(True), t.c.status == "completed",
                  t.c.completed_at.is_not(None), *_period(t.c.completed_at, query)]
    if query.account_id:
        conditions.append(a.c.id == query.account_id)
    if query.text:
        pattern = _like(query.text)
        conditions.append(sa.or_(t.c.counterparty_name.ilike(pattern, escape="\\"),
                                 t.c.purpose.ilike(pattern, escape="\\"), t.c.id.ilike(pattern, escape="\\")))
    statement = (
        sa.select(t.c.id, t.c.amount, t.c.counterparty_name.label("party"), t.c.purpose, t.c.booking_date,
                  t.c.completed_at.label("event_at"), sa.func.coalesce(a.c.name, a.c.iban).label("account"))
        .select_from(t.join(a, a.c.id == t.c.account_id))
        .where(*conditions)
    )
    columns = {"time": t.c.completed_at, "amount": t.c.amount, "counterparty": t.c.counterparty_name}
    return statement, t.c.id, columns


def _no_amounts(conn: sa.Connection, ids: list[str]) -> dict[str, float]:
    return {}  # a transaction carries its amount in its own row


def _invoice_row(source: Any, common: dict[str, Any], amounts: dict[str, float],
                 in_lexware: lexware_status.StatusRow | None) -> DocumentRow:
    return DocumentRow(number=source.number or source.id, origin=source.origin or "manual",
                       party=source.party or "", day=source.voucher_date, amount=amounts.get(source.id),
                       lexware_status=in_lexware.status if in_lexware else None,
                       voucher_number=in_lexware.voucher_number if in_lexware else None, **common)


def _transaction_row(source: Any, common: dict[str, Any], amounts: dict[str, float],
                     in_lexware: lexware_status.StatusRow | None) -> DocumentRow:
    return DocumentRow(number=source.id, origin=source.account or "", party=source.party or "",
                       day=source.booking_date, amount=float(source.amount) if source.amount is not None else None,
                       purpose=source.purpose or "", **common)


@dataclass(frozen=True)
class PageStream:
    """What the page shows of one stream: the orders it offers, its source query, how one row reads."""

    sorts: tuple[str, ...]
    #: (company id, query) -> (filtered statement, id column, the expression each sort key orders by)
    source: Callable[[str, Query], tuple[sa.Select[Any], Any, dict[str, Any]]]
    #: amounts read per page beside the source rows (a draft's gross total is the sum of its lines)
    amounts: Callable[[sa.Connection, list[str]], dict[str, float]]
    row: Callable[[Any, dict[str, Any], dict[str, float], lexware_status.StatusRow | None], DocumentRow]
    #: the page offers a filter by the company's own bank accounts
    account_filter: bool


PAGE_STREAMS: dict[Stream, PageStream] = {
    Stream.INVOICES: PageStream(INVOICE_SORTS, _invoice_source, _gross_amounts, _invoice_row, account_filter=False),
    Stream.TRANSACTIONS: PageStream(TRANSACTION_SORTS, _transaction_source, _no_amounts, _transaction_row,
                                    account_filter=True),
}
SORTS: dict[Stream, tuple[str, ...]] = {stream: shown.sorts for stream, shown in PAGE_STREAMS.items()}


def _source_statement(stream: Stream, company_id: str,
                      query: Query) -> tuple[sa.Select[Any], Any, dict[str, Any]]:
    """The stream's source query for the page: (statement, id column, sortable columns)."""
    return PAGE_STREAMS[stream].source(company_id, query)


def walk_statement(stream: Stream, company_id: str, query: Query, limit: int) -> sa.Select[Any]:
    """The source statement of a page's first segment (for EXPLAIN in the tests and the benchmark)."""
    base, id_col, columns = _source_statement(stream, company_id, query)
    segment_index, bound = _decode(query.cursor, query) if query.cursor else (0, None)
    segment = _segments(query.sort, query.descending, columns)[segment_index]
    return _source_walk(base, id_col, segment, query.descending, bound, limit)


def _source_walk(base: sa.Select[Any], id_col: Any, segment: _Segment, descending: bool,
                 bound: tuple[Any, str] | None, limit: int) -> sa.Select[Any]:
    statement = base.where(*segment.where, *_after(segment.key, id_col, descending, bound))
    if segment.key is not None:
        statement = statement.add_columns(segment.key.label("sort_value"))
    return _ordered(statement, segment.key, id_col, descending).limit(limit)


def _outbox_walk(conn: sa.Connection, tenant_id: str, stream: Stream, segment: _Segment, descending: bool,
                 bound: tuple[Any, str] | None, limit: int) -> list[tuple[Any, str]]:
    """(key, doc key) of the next outbox rows of a segment."""
    o = outbox_table.c
    key = segment.key if segment.key is not None else sa.null()
    statement = sa.select(key.label("sort_value"), o.doc_key).where(
        o.tenant_id == tenant_id, o.stream == str(stream), *segment.where,
        *_after(segment.key, o.doc_key, descending, bound))
    return [(r.sort_value, r.doc_key) for r in conn.execute(
        _ordered(statement, segment.key, o.doc_key, descending).limit(limit))]


def _long_id_rows(conn: sa.Connection, base: sa.Select[Any], id_col: Any,
                  doc_key: Callable[[str], str]) -> dict[str, Any]:
    """Source rows whose id is too long to be its own outbox key (the key holds its hash, which no query can
    join back): few, so they are read by length and keyed in Python."""
    return {doc_key(r.id): r for r in conn.execute(base.where(sa.func.length(id_col) > MAX_SOURCE_ID))}


def accounts(source: sa.Engine, stream: Stream, company_id: str) -> list[tuple[str, str]]:
    """(account id, name) of a bank company's own accounts, for the account filter (none where it has none)."""
    if not PAGE_STREAMS[stream].account_filter:
        return []
    a = src.accounts
    with source.connect() as conn:
        return [(r.id, r.name or r.iban) for r in conn.execute(
            sa.select(a.c.id, a.c.name, a.c.iban).where(a.c.company_id == company_id, a.c.is_own.is_(True))
            .order_by(a.c.name, a.c.id))]


# ---------------------------------------------------------------------------------------------- the page


def page(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant_id: str, stream: Stream, company_id: str,
         query: Query, queued: Collection[str] = ()) -> Page:
    """One page of rows. ``queued``: source ids in the selection of a run that has not finished yet."""
    if query.sort not in SORTS[stream]:
        raise QueryError(f"Sortierung 'sort' {query.sort!r} gibt es hier nicht; erlaubt: {', '.join(SORTS[stream])}")
    spec, shown = spec_of(stream), PAGE_STREAMS[stream]
    doc_key = spec.doc_key
    prefix = doc_key("")
    base, id_col, columns = _source_statement(stream, company_id, query)
    segments = _segments(query.sort, query.descending, columns)
    index, bound = _decode(query.cursor, query) if query.cursor else (0, None)
    queued_ids = set(queued)
    long_id_rows: dict[str, Any] | None = None
    rows: list[DocumentRow] = []
    scanned = 0
    while index < len(segments) and len(rows) < query.page_size and scanned < MAX_SCAN:
        segment = segments[index]
        sifting = bool(query.states) or segment.in_outbox or segment.keep is not None
        batch = max(query.page_size * 4, 200) if sifting else query.page_size
        if segment.in_outbox:
            with state_engine.connect() as conn:
                walked = _outbox_walk(conn, tenant_id, stream, segment, query.descending, bound, batch)
        with source_engine.connect() as conn:
            if segment.in_outbox:
                ids = [key[len(prefix):] for _, key in walked if key.startswith(prefix)]
                found = {doc_key(r.id): r for r in conn.execute(base.where(id_col.in_(ids)))} if ids else {}
                if long_id_rows is None and any(key.startswith(prefix + "#") for _, key in walked):
                    long_id_rows = _long_id_rows(conn, base, id_col, doc_key)  # once per page, not per batch
                found.update(long_id_rows or {})
                positions = [((value, key), found.get(key)) for value, key in walked]
            else:
                source_rows = conn.execute(_source_walk(base, id_col, segment, query.descending, bound, batch)).all()
                positions = [((getattr(r, "sort_value", None), r.id), r) for r in source_rows]
            present = [r for _, r in positions if r is not None]
            amounts = shown.amounts(conn, [r.id for r in present])
        scanned += len(positions)
        keys = [doc_key(r.id) for r in present]
        stored = {r.doc_key: r for r in outbox.rows(state_engine, tenant_id=tenant_id, stream=stream, doc_keys=keys)}
        in_lexware = lexware_status.statuses(state_engine, tenant_id=tenant_id, stream=str(stream), doc_keys=keys) \
            if spec.follows_lexware_status else {}
        consumed = 0
        for position, source_row in positions:
            consumed += 1
            bound = position
            if source_row is None:  # an outbox row whose document the filters (or the source) leave out
                continue
            key = doc_key(source_row.id)
            if segment.keep is not None and not segment.keep(stored.get(key)):
                continue
            row = _row(shown, source_row, stored.get(key), source_row.id in queued_ids, amounts, in_lexware.get(key))
            if query.states and row.state not in query.states:
                continue
            rows.append(row)
            if len(rows) == query.page_size:
                break
        if len(positions) < batch and consumed == len(positions):  # read to its end: the next segment starts
            index, bound = index + 1, None
    next_cursor = _encode(query, index, bound) if index < len(segments) else None
    return Page(rows=rows, next_cursor=next_cursor, scanned=scanned)


def _row(shown: PageStream, source: Any, stored: outbox.OutboxRow | None, queued: bool,
         amounts: dict[str, float], in_lexware: lexware_status.StatusRow | None = None) -> DocumentRow:
    if in_lexware is not None and (stored is None or in_lexware.lexware_id != stored.lexware_id):
        in_lexware = None  # what Lexware said about an earlier id (a deleted draft sent again since)
    deleted = in_lexware is not None and in_lexware.status == "deleted"
    state = ui_state(str(stored.state) if stored else None, queued=queued, deleted_in_lexware=deleted)
    common = {
        "source_id": source.id, "event_at": source.event_at, "state": state,
        "outbox_state": str(stored.state) if stored else None, "sent_at": stored.sent_at if stored else None,
        "lexware_id": stored.lexware_id if stored else None, "reasons": list(stored.reasons) if stored else [],
        "last_error": stored.last_error if stored else None,
        "changed_after_send": bool(stored.changed_after_send) if stored else False,
    }
    return shown.row(source, common, amounts, in_lexware)
