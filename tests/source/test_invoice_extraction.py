"""Extraction of invoice drafts on SQLite and PostgreSQL: windows, selections, chunking, master data."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from lexoffice.source import tables
from lexoffice.staging.invoices import iter_invoice_documents
from tests.source.rows import (
    T0, custom_line, fresh_schemas, insert_invoice_rows, invoice_rows,
)

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2025, 3, 1, tzinfo=BERLIN)   # 2025-02-28T23:00:00Z
END = datetime(2025, 3, 2, tzinfo=BERLIN)     # 2025-03-01T23:00:00Z
US = timedelta(microseconds=1)


def _drafts_of_one_company(engine: sa.Engine, events: dict[str, datetime | tuple[datetime, datetime]],
                           company: str = "a") -> None:
    """Drafts ``dr-<name>`` of company ``co-<company>``; a tuple means (created_at, updated_at)."""
    documents = []
    for name, event in events.items():
        rows = invoice_rows(name)
        created, updated = event if isinstance(event, tuple) else (event, None)
        rows.draft.update(created_at=created, updated_at=updated)
        documents.append(rows)
    shared = documents[0].company | {"id": f"co-{company}"}
    for rows in documents:
        for row in (rows.draft, rows.customer, rows.work_order):
            row["company_id"] = shared["id"]
        rows.company = shared
    insert_invoice_rows(engine, *documents, companies=documents[:1])


def _keys(chunks) -> list[str]:
    return [document.doc_key for chunk in chunks for document in chunk]


@pytest.fixture
def source(engine: sa.Engine) -> sa.Engine:
    return fresh_schemas(engine)


def test_window_is_half_open_by_last_change_in_any_time_zone(source: sa.Engine) -> None:
    _drafts_of_one_company(source, {
        "at-start": START,
        "before-start": START - US,
        "before-end": END - US,
        "at-end": END,
        "changed-inside": (START - timedelta(days=30), START + timedelta(hours=5)),
        "changed-after": (START + timedelta(hours=1), END + timedelta(seconds=1)),
    })
    _drafts_of_one_company(source, {"other-company": START + timedelta(hours=1)}, company="b")
    expected = ["draft:dr-at-start", "draft:dr-changed-inside", "draft:dr-before-end"]  # event-time order
    assert _keys(iter_invoice_documents(source, company_id="co-a", start=START, end=END)) == expected
    utc = list(iter_invoice_documents(source, company_id="co-a", start=START.astimezone(timezone.utc),
                                      end=END.astimezone(timezone.utc)))
    assert _keys(utc) == expected
    event_times = {d.doc_key: d.event_time for chunk in utc for d in chunk}
    assert event_times["draft:dr-at-start"] == START and event_times["draft:dr-at-start"].tzinfo is not None
    assert event_times["draft:dr-changed-inside"] == START + timedelta(hours=5)


def test_adjacent_windows_read_every_draft_exactly_once(source: sa.Engine) -> None:
    cuts = [START + timedelta(hours=h) for h in (0, 6, 12, 24)]
    events = {f"d{i}": START + timedelta(hours=h) for i, h in enumerate((0, 3, 6, 6, 11.999, 12, 23.5))}
    _drafts_of_one_company(source, events)
    seen = [key for lo, hi in zip(cuts, cuts[1:]) for key in _keys(
        iter_invoice_documents(source, company_id="co-a", start=lo, end=hi, chunk_size=2))]
    assert sorted(seen) == sorted(f"draft:dr-{name}" for name in events)


@pytest.mark.parametrize("arguments, message", [
    ({"start": datetime(2025, 3, 1), "end": END}, "timezone-aware"),
    ({"start": START, "end": datetime(2025, 3, 2)}, "timezone-aware"),
    ({"start": START}, "needs both start and end"),
    ({"start": END, "end": START}, "before its start"),
    ({"start": START, "end": END, "chunk_size": 0}, "chunk_size"),
])
def test_bad_window_arguments_are_refused(arguments: dict, message: str) -> None:
    """Refused before any query runs (so no database is needed to see it)."""
    never_connected = sa.create_engine("sqlite://")
    with pytest.raises(ValueError, match=message):
        next(iter_invoice_documents(never_connected, company_id="co-a", **arguments))


def test_selection_by_ids_ignores_the_window_and_other_companies(source: sa.Engine) -> None:
    _drafts_of_one_company(source, {"old": START - timedelta(days=400), "new": START + timedelta(hours=1)})
    _drafts_of_one_company(source, {"foreign": START + timedelta(hours=1)}, company="b")
    chunks = list(iter_invoice_documents(source, company_id="co-a", start=START, end=START + US,
                                         ids=["dr-old", "dr-foreign", "dr-missing", "dr-old"]))
    assert _keys(chunks) == ["draft:dr-old"]
    assert list(iter_invoice_documents(source, company_id="co-a", ids=[])) == []


class _Statements:
    """Records the SELECTs an engine runs, to see how much each one asks for."""

    def __init__(self, engine: sa.Engine) -> None:
        self.pages: list[object] = []
        self.line_queries: list[int] = []
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement: str, parameters, context, executemany: bool) -> None:
        if "FROM invoice_drafts d" in statement:
            if "LIMIT" in statement:  # a window page: how many drafts it may return
                self.pages.append(parameters["page_size"] if isinstance(parameters, dict) else parameters[-1])
            else:  # a selection page: how many ids it binds besides the company id
                self.pages.append(len(parameters) - 1)
        elif "FROM invoice_draft_lines" in statement:
            self.line_queries.append(len(parameters))


def test_window_yields_bounded_chunks_lazily(source: sa.Engine) -> None:
    same_moment = START + timedelta(hours=2)
    events = {f"{i:02d}": same_moment if i % 3 == 0 else START + timedelta(minutes=7 * i) for i in range(23)}
    _drafts_of_one_company(source, events)
    statements = _Statements(source)
    iterator = iter_invoice_documents(source, company_id="co-a", start=START, end=END, chunk_size=5)
    first = next(iterator)
    time.sleep(0.3)  # time enough for an unbounded reader to read everything
    assert len(first) == 5
    # Lazy: on a database server the next page is read while this one is used (lexoffice.staging.background), no more.
    read_ahead = 1 if source.dialect.name != "sqlite" else 0
    assert len(statements.pages) <= 1 + read_ahead and len(statements.line_queries) <= 1 + read_ahead
    chunks = [first, *iterator]
    assert [len(chunk) for chunk in chunks] == [5, 5, 5, 5, 3]
    assert statements.pages == [5] * 5  # every page asks for at most chunk_size drafts
    assert all(count <= 5 for count in statements.line_queries)
    keys = _keys(chunks)
    assert len(set(keys)) == 23 == len(keys)
    times = [document.event_time for chunk in chunks for document in chunk]
    assert times == sorted(times)


def test_selection_yields_bounded_chunks(source: sa.Engine) -> None:
    _drafts_of_one_company(source, {f"{i:02d}": START for i in range(12)})
    statements = _Statements(source)
    ids = [f"dr-{i:02d}" for i in range(12)]
    chunks = list(iter_invoice_documents(source, company_id="co-a", ids=list(reversed(ids)), chunk_size=5))
    assert [len(chunk) for chunk in chunks] == [5, 5, 2]
    assert _keys(chunks) == [f"draft:{i}" for i in ids]
    assert statements.pages == [5, 5, 2]  # ids bound per page (company id not counted)


def test_documents_carry_master_data_and_the_hash_covers_it(source: sa.Engine) -> None:
    rows = invoice_rows("m")
    insert_invoice_rows(source, rows)

    def read():
        [[document]] = iter_invoice_documents(source, company_id=rows.company_id, ids=[rows.draft_id])
        return document

    first = read()
    assert first.is_valid and first.group_key == "customer:cu-m"
    assert first.payload["address"]["name"] == "Bäckerei Schäfer & Söhne"
    assert first.related["contact"]["company"]["vatRegistrationId"] == "DE987654321"
    assert first.source_ref == "RE-2025-0042 (work_order WO-881)"
    hashes = [first.content_hash]
    changes = [
        "UPDATE companies SET tax_number = '27/614/99999'",
        "UPDATE customers SET email = 'neu@baeckerei-schaefer.de'",
        "UPDATE work_orders SET number = 'WO-882'",
        "UPDATE invoice_draft_lines SET unit_price = 13.5 WHERE position = 1",
        "UPDATE invoice_drafts SET title = 'Abrechnung'",
    ]
    for change in changes:
        with source.begin() as conn:
            conn.execute(sa.text(change))
        hashes.append(read().content_hash)
    assert len(set(hashes)) == len(hashes)  # every change of source data is a new hash
    with source.begin() as conn:  # touching without changing: new event time, same hash
        conn.execute(tables.invoice_drafts.update().values(updated_at=T0 + timedelta(days=1)))
    touched = read()
    assert touched.content_hash == hashes[-1] and touched.event_time == T0 + timedelta(days=1)
    assert read().related["lookup"] == {"email": "neu@baeckerei-schaefer.de", "name": "Bäckerei Schäfer & Söhne"}


def test_one_bad_draft_keeps_all_its_reasons_and_stops_nothing(source: sa.Engine) -> None:
    good = [invoice_rows(f"ok{i}") for i in range(3)]
    bad = invoice_rows("bad")
    bad.company.update(accounting_licensed=False, tax_number=None, vat_id=None)
    bad.customer.update(country_code="Deutschland", email="kaputt@")
    bad.draft.update(title="x" * 30, currency="USD", voucher_date=None)
    bad.lines.append(custom_line(bad.draft_id, 3, tax_rate=16.0, quantity=0.0, discount_percentage=120.0))
    insert_invoice_rows(source, *good, bad)
    documents = {}
    for rows in (*good, bad):
        for chunk in iter_invoice_documents(source, company_id=rows.company_id, start=START - timedelta(days=30),
                                            end=END + timedelta(days=30)):
            documents.update({d.doc_key: d for d in chunk})
    assert all(documents[f"draft:{rows.draft_id}"].is_valid for rows in good)
    assert [r.code for r in documents["draft:dr-bad"].reasons] == [
        "COMPANY_TAX_ID_MISSING", "ACCOUNTING_NOT_LICENSED", "CUSTOMER_COUNTRY_INVALID", "CUSTOMER_EMAIL_INVALID",
        "VOUCHER_DATE_MISSING", "CURRENCY_NOT_EUR", "TITLE_TOO_LONG", "LINE_QUANTITY_OUT_OF_RANGE",
        "LINE_TAX_RATE_INVALID", "LINE_DISCOUNT_OUT_OF_RANGE",
    ]
    assert [r.field for r in documents["draft:dr-bad"].reasons][-3:] == [
        "lines[3].quantity", "lines[3].tax_rate", "lines[3].discount_percentage"]


def test_garbage_in_sqlite_columns_becomes_reasons_not_crashes(tmp_path) -> None:
    """SQLite lets a source store text in NUMERIC and DATE columns; that must not stop a run."""
    engine = fresh_schemas(sa.create_engine(f"sqlite:///{tmp_path / 'garbage.sqlite'}"))
    rows, fine = invoice_rows("garbage"), invoice_rows("fine")
    rows.raw_updates += [("invoice_drafts", "voucher_date", "morgen"), ("invoice_drafts", "service_date", "2025-13-01"),
                         ("invoice_draft_lines", "unit_price", "zwölf"), ("companies", "accounting_licensed", "ja")]
    insert_invoice_rows(engine, rows, fine)
    [[document]] = iter_invoice_documents(engine, company_id=rows.company_id, ids=[rows.draft_id])
    assert {r.code for r in document.reasons} == {"VOUCHER_DATE_INVALID", "SERVICE_DATE_INVALID",
                                                  "LINE_PRICE_OUT_OF_RANGE", "ACCOUNTING_NOT_LICENSED"}
    [[other]] = iter_invoice_documents(engine, company_id=fine.company_id, ids=[fine.draft_id])
    assert other.is_valid
    engine.dispose()


def test_reduced_vat_rates_of_2020_are_valid_for_services_of_that_time(source: sa.Engine) -> None:
    reduced = invoice_rows("r2020")
    reduced.draft.update(voucher_date=date(2020, 8, 3), service_date=date(2020, 7, 30))
    reduced.lines[0]["tax_rate"] = 16.0
    insert_invoice_rows(source, reduced)
    [[document]] = iter_invoice_documents(source, company_id=reduced.company_id, ids=[reduced.draft_id])
    assert document.is_valid
    assert document.payload["lineItems"][0]["unitPrice"]["taxRatePercentage"] == 16


def test_huge_selections_stay_within_bind_limits(source: sa.Engine, caplog: pytest.LogCaptureFixture) -> None:
    """SQLite allows 32,766 variables per statement; a selection of 40,000 ids must still work."""
    _drafts_of_one_company(source, {"real": START})
    ids = [f"dr-{i:05d}" for i in range(40_000)] + ["dr-real"]
    chunks = list(iter_invoice_documents(source, company_id="co-a", ids=ids, chunk_size=50_000))
    assert _keys(chunks) == ["draft:dr-real"]
    assert "40000 of 40001 selected id(s) were not found" in caplog.text
