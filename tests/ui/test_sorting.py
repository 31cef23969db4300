"""Sorting the documents and transactions views by every column: keyset pages walked to the end give exactly the
plainly sorted list (nothing lost, nothing twice, ties by id, empty values last), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from demo.source_db import create_schema, insert_rows
from lexoffice.documents import Stream
from lexoffice.payloads import invoice_doc_key, key_id
from lexoffice.source import tables as src
from lexoffice.state import outbox, tenants
from lexoffice.state.db import init_db, make_engine
from lexoffice.ui import documents
from lexoffice.ui.documents import STATE_ORDER, Query, QueryError
from tests.state.helpers import doc, force_state, row_id

N = 130
START = datetime(2026, 10, 1, 8, tzinfo=UTC)
SENT_AT = datetime(2026, 10, 9, 20, tzinfo=UTC)
CUSTOMERS = {"K0": ("company", "Alpha GmbH", None, None), "K1": ("company", "Beta GmbH", None, None),
             "K2": ("person", None, "Dora", "Ernst"), "K3": ("company", "Gamma GmbH", None, None)}
# stored state per document number (i % 9): None = never staged
STATES = {0: None, 1: "pending", 2: "sending", 3: "sent", 4: "invalid", 5: "rejected", 6: "unknown", 7: "sent",
          8: None}


def _draft_values(i: int) -> dict[str, Any]:
    """Each sort column with ties and empty values (ids are zero-padded, so text order is number order)."""
    customer = None if i % 5 == 0 else f"K{i % 4}"
    return {
        "id": f"D{i:04d}" + ("-" + "x" * 120 if i % 13 == 5 else ""),  # some too long to be their own outbox key
        "time": START + timedelta(minutes=i // 3),
        "number": None if i % 11 == 0 else f"RE-{i % 7:03d}",
        "customer": None if customer is None else (CUSTOMERS[customer][1] or "Dora Ernst"),
        "customer_id": customer,
        "voucher_date": None if i % 6 == 0 else date(2026, 10, 1 + i % 4),
        "gross": None if i % 4 == 0 else round((i % 5) * 10 * 1.19, 2),  # net lines at 19 %
        "state": STATES[i % 9],
        "sent_at": SENT_AT + timedelta(hours=i % 4) if STATES[i % 9] == "sent" else None,
    }


@pytest.fixture
def db(db_url: str) -> Any:
    engine = make_engine(db_url)
    create_schema(engine, "fieldservice")
    create_schema(engine, "bank")
    init_db(engine)
    tenants.add_tenant(engine, tenant_id="acme", name="Acme", lexoffice_conn_id="lexoffice_acme",
                       invoice_company_id="C1", bank_company_id="B1")
    yield engine
    engine.dispose()


def _stage(engine: sa.Engine, stream: str, keys_states: dict[str, tuple[str | None, datetime | None]]) -> None:
    staged = {k: v for k, v in keys_states.items() if v[0] is not None}
    outbox.stage(engine, tenant_id="acme", stream=stream, docs=[doc(k) for k in staged])
    for key, (state, sent_at) in staged.items():
        rid = row_id(engine, "acme", stream, key)
        if state == "sent":
            assert outbox.claim(engine, rid)
            outbox.mark_sent(engine, rid, lexware_id=f"lx-{key}", sent_at=sent_at)
        else:
            force_state(engine, rid, state)


def _drafts(engine: sa.Engine) -> list[dict[str, Any]]:
    values = [_draft_values(i) for i in range(N)]
    with engine.begin() as conn:
        insert_rows(conn, src.companies, [{"id": "C1", "name": "Acme", "accounting_licensed": True}])
        insert_rows(conn, src.customers, [
            {"id": k, "company_id": "C1", "kind": kind, "company_name": company, "first_name": first,
             "last_name": last} for k, (kind, company, first, last) in CUSTOMERS.items()])
        insert_rows(conn, src.invoice_drafts, [
            {"id": v["id"], "company_id": "C1", "customer_id": v["customer_id"], "number": v["number"],
             "origin": "manual", "tax_type": "net", "voucher_date": v["voucher_date"], "created_at": v["time"]}
            for v in values])
        insert_rows(conn, src.invoice_draft_lines, [
            {"id": f"L{i:04d}", "draft_id": v["id"], "position": 1, "type": "custom", "name": "Leistung",
             "quantity": 1, "unit_name": "Stück", "unit_price": (i % 5) * 10, "price_kind": "net", "tax_rate": 19}
            for i, v in enumerate(values) if v["gross"] is not None])
    _stage(engine, "invoices", {invoice_doc_key(v["id"]): (v["state"], v["sent_at"]) for v in values})
    return values


def _transactions(engine: sa.Engine) -> list[dict[str, Any]]:
    values = [{"id": f"T{i:04d}", "time": START + timedelta(minutes=i // 4),
               "amount": None if i % 10 == 0 else float((i % 6) - 3) * 12.5 or 1.0,
               "counterparty": None if i % 7 == 0 else ["Stadtwerke", "Finanzamt", "Miete AG"][i % 3],
               "state": STATES[i % 9], "sent_at": SENT_AT + timedelta(hours=i % 3) if STATES[i % 9] == "sent"
               else None} for i in range(N)]
    with engine.begin() as conn:
        insert_rows(conn, src.bank_customers, [{"id": "B1", "name": "Acme"}])
        insert_rows(conn, src.accounts, [{"id": "A1", "company_id": "B1", "iban": "DE1", "name": "Giro",
                                              "currency": "EUR", "is_own": True, "kind": "giro"}])
        insert_rows(conn, src.transactions, [
            {"id": v["id"], "account_id": "A1", "kind": "transfer", "status": "completed", "amount": v["amount"],
             "currency": "EUR", "booking_date": v["time"].date(), "completed_at": v["time"],
             "counterparty_name": v["counterparty"], "purpose": "x"} for v in values])
    _stage(engine, "transactions", {f"txn:{v['id']}": (v["state"], v["sent_at"]) for v in values})
    return values


def _rank(state: str | None) -> int:
    return next(i for i, (_, stored) in enumerate(STATE_ORDER) if (state or "pending") in stored)


def expected(values: list[dict[str, Any]], sort: str, descending: bool,
             keep: Callable[[dict[str, Any]], bool] = lambda v: True) -> list[str]:
    """The plain sorted list: by the value, then the id, both in the asked direction; empty values last. Orders
    read from the outbox (a stored state other than "nicht gesendet", a Datum senden) break ties by the
    document's key, which for an id too long to be its own key is the id's hash."""
    key = (lambda v: _rank(v["state"])) if sort == "state" else (lambda v: v[sort])
    unstaged = dict(STATE_ORDER)["not_sent"]
    read_from_outbox = {"state": lambda v: v["state"] is not None and v["state"] not in unstaged,
                        "sent_at": lambda v: v["sent_at"] is not None}.get(sort, lambda v: False)

    def tie(v: dict[str, Any]) -> str:
        return key_id(v["id"]) if read_from_outbox(v) else v["id"]

    chosen = [v for v in values if keep(v)]
    with_value = sorted((v for v in chosen if key(v) is not None), key=lambda v: (key(v), tie(v)),
                        reverse=descending)
    without = sorted((v for v in chosen if key(v) is None), key=tie, reverse=descending)
    return [v["id"] for v in with_value + without]


def walk(engine: sa.Engine, stream: Stream, page_size: int = 25, **params: Any) -> tuple[list[str], int]:
    """Every page from the first to the last; (the ids in page order, the number of pages)."""
    ids: list[str] = []
    cursor, pages = None, 0
    while True:
        result = documents.page(state_engine=engine, source_engine=engine, tenant_id="acme", stream=stream,
                                company_id="C1" if stream == Stream.INVOICES else "B1",
                                query=Query.parse(cursor=cursor, page_size=page_size, **params))
        pages += 1
        assert len(result.rows) <= page_size
        ids.extend(r.source_id for r in result.rows)
        cursor = result.next_cursor
        if cursor is None:
            return ids, pages
        assert pages < 100, "the pages never end"


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("stream", [Stream.INVOICES, Stream.TRANSACTIONS])
def test_every_sort_walks_every_document_once_in_order(db: sa.Engine, stream: Stream, descending: bool) -> None:
    values = _drafts(db) if stream == Stream.INVOICES else _transactions(db)
    for sort in documents.SORTS[stream]:
        ids, pages = walk(db, stream, sort=sort, direction="desc" if descending else "asc")
        assert ids == expected(values, sort, descending), sort
        assert pages >= N // 25, sort


def test_sorting_with_filters_keeps_the_order_of_what_is_left(db: sa.Engine) -> None:
    values = _drafts(db)
    failed = {"invalid", "rejected"}
    for sort in ("customer", "state", "sent_at", "gross"):
        ids, _ = walk(db, Stream.INVOICES, page_size=25, sort=sort, direction="desc", state=["failed", "sent"])
        assert ids == expected(values, sort, True, keep=lambda v: v["state"] in failed | {"sent"}), sort
        ids, _ = walk(db, Stream.INVOICES, sort=sort, text="gamma")
        assert ids == expected(values, sort, False, keep=lambda v: v["customer"] == "Gamma GmbH"), sort


def test_the_page_size_changes_nothing_but_the_pages(db: sa.Engine) -> None:
    values = _drafts(db)
    for size in (25, 50, 200):
        assert walk(db, Stream.INVOICES, page_size=size, sort="sent_at")[0] == expected(values, "sent_at", False)


def test_older_links_and_bad_sorts(db: sa.Engine) -> None:
    values = _drafts(db)
    assert walk(db, Stream.INVOICES, order="oldest")[0] == expected(values, "time", False)
    assert walk(db, Stream.INVOICES)[0] == expected(values, "time", True)  # newest first by default
    cursor = documents.page(state_engine=db, source_engine=db, tenant_id="acme", stream=Stream.INVOICES,
                            company_id="C1", query=Query.parse(sort="number")).next_cursor
    assert cursor is not None
    with pytest.raises(QueryError, match="cursor"):  # a cursor of another order is refused, not misread
        documents.page(state_engine=db, source_engine=db, tenant_id="acme", stream=Stream.INVOICES,
                       company_id="C1", query=Query.parse(sort="customer", cursor=cursor))
    with pytest.raises(QueryError, match="'sort'"):
        Query.parse(sort="betrag")
    with pytest.raises(QueryError, match="'dir'"):
        Query.parse(sort="number", direction="up")
    with pytest.raises(QueryError, match="'sort'"):  # a gross amount is an invoice column only
        documents.page(state_engine=db, source_engine=db, tenant_id="acme", stream=Stream.TRANSACTIONS,
                       company_id="B1", query=Query.parse(sort="gross"))


@pytest.mark.slow
def test_every_sort_pages_at_100000_drafts_with_bounded_work(db: sa.Engine) -> None:
    """Each page of each order reads a bounded number of rows (MAX_SCAN at most; one page where the order is a
    column); on PostgreSQL the number, voucher-date and time orders walk the source's indexes without a sort.
    Timings are printed for docs/benchmarks.md, not asserted."""
    import time

    n = 100_000
    now = datetime.now(UTC)
    with db.begin() as conn:
        insert_rows(conn, src.companies, [{"id": "C1", "name": "Acme", "accounting_licensed": True}])
        insert_rows(conn, src.customers, [
            {"id": k, "company_id": "C1", "kind": kind, "company_name": company, "first_name": first,
             "last_name": last} for k, (kind, company, first, last) in CUSTOMERS.items()])
        values = [_draft_values(i) for i in range(n)]
        for chunk in range(0, n, 10_000):
            part = values[chunk:chunk + 10_000]
            insert_rows(conn, src.invoice_drafts, [
                {"id": f"D{i:06d}", "company_id": "C1", "customer_id": v["customer_id"], "number": v["number"],
                 "origin": "manual", "tax_type": "net", "voucher_date": v["voucher_date"], "created_at": v["time"]}
                for i, v in enumerate(part, start=chunk)])
            insert_rows(conn, src.invoice_draft_lines, [
                {"id": f"L{i:06d}", "draft_id": f"D{i:06d}", "position": 1, "type": "custom", "name": "Leistung",
                 "quantity": 1, "unit_name": "Stück", "unit_price": (i % 5) * 10, "price_kind": "net",
                 "tax_rate": 19} for i, v in enumerate(part, start=chunk) if v["gross"] is not None])
            conn.execute(sa.insert(outbox.outbox), [
                {"tenant_id": "acme", "stream": "invoices", "doc_key": f"draft:D{i:06d}", "state": v["state"],
                 "content_hash": "h", "reasons": [], "source_ref": "x", "event_time": now, "related": {},
                 "staged_at": now, "updated_at": now, "sent_at": v["sent_at"],
                 "lexware_id": "lx" if v["state"] == "sent" else None}
                for i, v in enumerate(part, start=chunk) if v["state"] is not None])
        if db.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE"))

    def one(query: Query) -> tuple[documents.Page, float]:
        started = time.perf_counter()
        result = documents.page(state_engine=db, source_engine=db, tenant_id="acme", stream=Stream.INVOICES,
                                company_id="C1", query=query)
        return result, time.perf_counter() - started

    lines = []
    for sort in documents.INVOICE_SORTS:
        for direction in ("asc", "desc"):
            first, first_s = one(Query.parse(sort=sort, direction=direction))
            cursor = first.next_cursor
            for _ in range(20):  # 1,000 rows deep
                assert cursor is not None
                cursor = one(Query.parse(sort=sort, direction=direction, cursor=cursor))[0].next_cursor
            deep, deep_s = one(Query.parse(sort=sort, direction=direction, cursor=cursor))
            for result in (first, deep):
                assert len(result.rows) == 50 and result.scanned <= documents.MAX_SCAN, (sort, direction)
                if sort not in ("state", "sent_at"):  # a column of the source: one page read, no more
                    assert result.scanned == 50, (sort, direction)
            lines.append(f"{sort:>12} {direction:>4}: first {first_s * 1000:7.1f} ms, 1,000 deep "
                         f"{deep_s * 1000:7.1f} ms, rows read {first.scanned}/{deep.scanned}")
            if db.dialect.name == "postgresql" and sort in ("time", "number", "voucher_date"):
                statement = documents.walk_statement(Stream.INVOICES, "C1", Query.parse(
                    sort=sort, direction=direction, cursor=cursor), 50)
                with db.connect() as conn:
                    compiled = statement.compile(conn)
                    plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))
                index = {"time": "event", "number": "number", "voucher_date": "voucher_date"}[sort]
                assert f"ix_invoice_drafts_company_{index}" in plan and "Sort" not in plan, plan
    print(f"\n{db.dialect.name}: a page of 50 at 100,000 drafts\n" + "\n".join(lines))
