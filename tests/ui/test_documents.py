"""The documents view's rows: source joined with the outbox, keyset pages, filters; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from demo.source_db import create_schema, insert_rows
from lexoffice.documents import Stream
from lexoffice.source import tables as src
from lexoffice.state import outbox
from lexoffice.state.db import init_db, make_engine
from lexoffice.ui import documents
from lexoffice.ui.documents import Query, QueryError
from tests.state.helpers import doc, force_state, row_id

START = datetime(2026, 10, 1, 8, tzinfo=UTC)


def _source(engine: sa.Engine, n: int, *, company: str = "C1", customer: bool = True) -> None:
    with engine.begin() as conn:
        insert_rows(conn, src.companies, [{"id": company, "name": "Acme", "accounting_licensed": True}])
        insert_rows(conn, src.customers, [{"id": "K1", "company_id": company, "kind": "company",
                                               "company_name": "Müller GmbH"}])
        rows = [{"id": f"D{i:06d}", "company_id": company, "customer_id": "K1" if customer else None,
                 "number": f"RE-{i:06d}", "origin": "manual", "tax_type": "net",
                 "created_at": START + timedelta(minutes=i)} for i in range(n)]
        for chunk in range(0, n, 10_000):
            insert_rows(conn, src.invoice_drafts, rows[chunk:chunk + 10_000])


@pytest.fixture
def db(db_url: str) -> Any:
    """One database holding both the source tables and the state tables (they never share a name)."""
    engine = make_engine(db_url)
    create_schema(engine, "fieldservice")
    init_db(engine)
    from lexoffice.state import tenants

    tenants.add_tenant(engine, tenant_id="acme", name="Acme", lexoffice_conn_id="lexoffice_acme",
                       invoice_company_id="C1")
    yield engine
    engine.dispose()


def _page(engine: sa.Engine, query: Query, queued: set[str] | None = None) -> documents.Page:
    return documents.page(state_engine=engine, source_engine=engine, tenant_id="acme", stream=Stream.INVOICES,
                          company_id="C1", query=query, queued=queued or set())


def _all(engine: sa.Engine, **kwargs: Any) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        result = _page(engine, Query.parse(cursor=cursor, **kwargs))
        pages.append([r.source_id for r in result.rows])
        cursor = result.next_cursor
        if cursor is None:
            return pages


def test_keyset_pages_cover_every_draft_once_in_order(db: sa.Engine) -> None:
    _source(db, 230)
    pages = _all(db, page_size=50)
    assert [len(p) for p in pages] == [50, 50, 50, 50, 30]
    flat = [i for p in pages for i in p]
    assert flat == [f"D{i:06d}" for i in reversed(range(230))]  # newest first
    oldest = [i for p in _all(db, page_size=50, order="oldest") for i in p]
    assert oldest == list(reversed(flat))


def test_rows_show_outbox_state_words_and_filters(db: sa.Engine) -> None:
    _source(db, 6)
    outbox.stage(db, tenant_id="acme", stream="invoices", docs=[
        doc("draft:D000000"), doc("draft:D000001"), doc("draft:D000002", valid=False), doc("draft:D000003")])
    sent = row_id(db, "acme", "invoices", "draft:D000001")
    outbox.claim(db, sent)
    outbox.mark_sent(db, sent, lexware_id="lx-1", sent_at=datetime(2026, 10, 5, 22, 30, tzinfo=UTC))
    force_state(db, row_id(db, "acme", "invoices", "draft:D000003"), "unknown")

    rows = {r.source_id: r for r in _page(db, Query.parse(), queued={"D000004"}).rows}
    assert {k: r.state for k, r in rows.items()} == {
        "D000000": "not_sent", "D000001": "sent", "D000002": "failed", "D000003": "awaiting",
        "D000004": "queued", "D000005": "not_sent"}  # D000004/5: not staged yet, shown all the same
    assert rows["D000001"].lexware_id == "lx-1"
    assert rows["D000002"].reasons[0]["message_de"] == "Straße fehlt"
    assert rows["D000000"].party == "Müller GmbH"

    failed = _page(db, Query.parse(state=["failed"])).rows
    assert [r.source_id for r in failed] == ["D000002"]
    several = _page(db, Query.parse(state=["sent", "not_sent"])).rows
    assert [r.source_id for r in several] == ["D000005", "D000004", "D000001", "D000000"]
    assert [r.source_id for r in _page(db, Query.parse(text="re-000003")).rows] == ["D000003"]
    day = START.date().isoformat()
    assert len(_page(db, Query.parse(from_day=day, to_day=day)).rows) == 6
    assert _page(db, Query.parse(from_day="2026-10-02")).rows == []


def test_state_filter_pages_through_a_large_gap(db: sa.Engine) -> None:
    """Only the oldest draft failed: the filter scans at most MAX_SCAN rows per request and continues."""
    _source(db, 12_000)
    outbox.stage(db, tenant_id="acme", stream="invoices", docs=[doc("draft:D000000", valid=False)])
    pages = _all(db, state=["failed"], page_size=25)
    assert [i for p in pages for i in p] == ["D000000"]
    assert len(pages) == 3  # 12,000 rows scanned 5,000 at a time


@pytest.mark.parametrize("bad, field", [
    ({"state": ["gesendet"]}, "state"), ({"from_day": "01.10.2026"}, "from"), ({"order": "number"}, "order"),
    ({"page_size": 7}, "page_size"), ({"from_day": "2026-10-02", "to_day": "2026-10-01"}, "to"),
])
def test_bad_filters_name_the_field(bad: dict[str, Any], field: str) -> None:
    with pytest.raises(QueryError, match=field):
        Query.parse(**bad)


def test_bad_cursor_is_a_clear_error(db: sa.Engine) -> None:
    with pytest.raises(QueryError, match="cursor"):
        _page(db, Query.parse(cursor="not-a-cursor"))


def test_sent_drafts_show_what_became_of_them_in_lexware(db: sa.Engine) -> None:
    """Issue 20 on the page: the status the nightly step read back and the invoice number once finalized."""
    from lexoffice.state import lexware_status

    _source(db, 3)
    outbox.stage(db, tenant_id="acme", stream="invoices", docs=[doc("draft:D000000"), doc("draft:D000001")])
    for key, lexware_id in (("draft:D000000", "lx-0"), ("draft:D000001", "lx-1")):
        rid = row_id(db, "acme", "invoices", key)
        outbox.claim(db, rid)
        outbox.mark_sent(db, rid, lexware_id=lexware_id)
    lexware_status.record(db, tenant_id="acme", stream="invoices", observations=[
        lexware_status.Observation(doc_key="draft:D000000", lexware_id="lx-0", status="draft"),
        lexware_status.Observation(doc_key="draft:D000001", lexware_id="lx-1", status="paid",
                                   voucher_number="RE0001")])

    rows = {r.source_id: r for r in _page(db, Query.parse()).rows}
    assert (rows["D000001"].lexware_status, rows["D000001"].voucher_number) == ("paid", "RE0001")
    assert (rows["D000000"].lexware_status, rows["D000000"].voucher_number) == ("draft", None)
    assert (rows["D000002"].lexware_status, rows["D000002"].voucher_number) == (None, None)  # never sent


def test_a_draft_deleted_in_lexware_shows_as_such_until_it_is_sent_again(db: sa.Engine) -> None:
    """The status Lexware reported belongs to one Lexware id: once the deleted draft is sent again (a new id),
    the row no longer says "In Lexware gelöscht"; while a run's selection holds it, it shows as queued."""
    from lexoffice.state import lexware_status

    _source(db, 1)
    outbox.stage(db, tenant_id="acme", stream="invoices", docs=[doc("draft:D000000")])
    rid = row_id(db, "acme", "invoices", "draft:D000000")
    outbox.claim(db, rid)
    outbox.mark_sent(db, rid, lexware_id="lx-old")
    lexware_status.record(db, tenant_id="acme", stream="invoices", observations=[
        lexware_status.Observation(doc_key="draft:D000000", lexware_id="lx-old", status="deleted")])
    (row,) = _page(db, Query.parse()).rows
    assert (row.state, row.lexware_status) == ("sent", "deleted")
    (row,) = _page(db, Query.parse(), queued={"D000000"}).rows
    assert row.state == "queued"  # selected again: its run sends it anew

    assert outbox.resend(db, tenant_id="acme", stream="invoices", doc_keys=["draft:D000000"], actor="t").moved
    outbox.claim(db, rid)
    outbox.mark_sent(db, rid, lexware_id="lx-new")
    (row,) = _page(db, Query.parse(), queued={"D000000"}).rows
    assert (row.state, row.lexware_id, row.lexware_status) == ("sent", "lx-new", None)
