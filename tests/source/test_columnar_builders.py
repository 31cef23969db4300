"""The columnar document builders agree with the per-row definition (``reference_rows``), field for field.

Staging builds hashes, payloads and references a column at a time for speed; a content hash or payload that
differed from the definition would re-send or flag documents for nothing (or miss a change). Both builders
run on the same pages: generated sources with their broken rows on SQLite and PostgreSQL, and pages whose
cells were set to the values that trip up column-wise code (blank text, control characters, unicode,
integral floats, missing dates, the night summer time ends).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from demo.generate import generate_bank, generate_fieldservice
from tests.support.oracles import reference_rows
from lexoffice.documents import StagedDocument
from lexoffice.source import frames
from lexoffice.source.invoices import iter_invoice_frames
from lexoffice.staging.invoices import build_invoice_documents
from lexoffice.source.transactions import iter_transaction_frames
from lexoffice.staging.transactions import build_transaction_documents

EVER = (datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc))
EXPORT_SINCE = datetime(2025, 2, 1, tzinfo=timezone.utc)


def _assert_same(built: list[StagedDocument], reference: list[StagedDocument]) -> None:
    assert [d.doc_key for d in built] == [d.doc_key for d in reference]
    for mine, theirs in zip(built, reference, strict=True):
        for name in StagedDocument.__dataclass_fields__:
            assert getattr(mine, name) == getattr(theirs, name), (mine.doc_key, name)
        assert type(mine.event_time) is datetime and mine.event_time.utcoffset() is not None


def _invoice_pages(engine: sa.Engine) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    result = generate_fieldservice(engine, seed=11, companies=2, drafts_per_company=120, start=date(2025, 3, 1),
                                   days=240, broken_fraction=0.15, collect_expected=False)
    return [page for company in result["company_ids"]
            for page in iter_invoice_frames(engine, company_id=company, start=EVER[0], end=EVER[1], chunk_size=71)]


def _transaction_pages(engine: sa.Engine) -> list[pd.DataFrame]:
    result = generate_bank(engine, seed=11, companies=2, accounts_per_company=3, transactions_per_account=60,
                           start=date(2025, 1, 1), days=120, broken_fraction=0.15, collect_expected=False)
    return [page for company in result["company_ids"]
            for page in iter_transaction_frames(engine, company_id=company, start=EVER[0], end=EVER[1],
                                                chunk_size=83)]


def test_generated_invoice_drafts_match_the_reference(engine: sa.Engine) -> None:
    pages = _invoice_pages(engine)
    built = [doc for drafts, lines in pages for doc in build_invoice_documents(drafts, lines)]
    reference = [doc for drafts, lines in pages for doc in reference_rows.invoice_documents(drafts, lines)]
    _assert_same(built, reference)
    valid = [d for d in built if d.is_valid]
    assert len(built) == 240 and 0 < len(valid) < len(built)  # both kinds were compared
    assert all(d.payload and d.payload["lineItems"] and d.related["contact"] for d in valid)


def test_generated_transactions_match_the_reference(engine: sa.Engine) -> None:
    pages = _transaction_pages(engine)
    for since in (None, EXPORT_SINCE):
        built = [doc for page in pages for doc in build_transaction_documents(page, export_since=since)]
        reference = [doc for page in pages for doc in reference_rows.transaction_documents(page, export_since=since)]
        _assert_same(built, reference)
        valid = [d for d in built if d.is_valid]
        assert len(built) > 300 and 0 < len(valid) < len(built)
        assert all(d.payload and d.related["account"] for d in valid)


AWKWARD_TEXTS = ["", "   ", "\t", "Zeile 1\r\nZeile 2\rZeile 3", "Tab\tund \\ Backslash", "Ünïcødé ✓ 😀",
                 " führendes Leerzeichen", '"Anführung"', "null", "NaN"]


@pytest.fixture
def awkward_invoice_page(tmp_path) -> tuple[pd.DataFrame, pd.DataFrame]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fs.sqlite'}")
    drafts, lines = _invoice_pages(engine)[0]
    engine.dispose()
    drafts, lines = drafts.copy(), lines.copy()
    n = len(drafts)
    for column in ("title", "introduction", "remark", "number", "customer_company_name", "customer_first_name",
                   "customer_street", "customer_email", "customer_vat_id", "work_order_number"):
        drafts[column] = [AWKWARD_TEXTS[(i * 7 + len(column)) % len(AWKWARD_TEXTS)] if i % 3 else np.nan
                          for i in range(n)]
    drafts["service_period_start"] = ["2025-10-26" if i % 4 == 0 else None for i in range(n)]
    drafts["service_period_end"] = ["2025-10-27" if i % 4 == 0 else "" for i in range(n)]
    drafts["service_date"] = ["2025-03-30" if i % 5 == 0 else "kaputt" if i % 5 == 1 else None for i in range(n)]
    for column in ("name", "description", "unit_name", "price_kind", "type"):
        lines[column] = [AWKWARD_TEXTS[(i * 3 + len(column)) % len(AWKWARD_TEXTS)] if i % 4 else np.nan
                         for i in range(len(lines))]
    lines["quantity"] = [[1.0, 2.5, 0.1 + 0.2, 1e16, np.nan][i % 5] for i in range(len(lines))]
    lines["discount_percentage"] = [[0.0, np.nan, 12.5, 100.0][i % 4] for i in range(len(lines))]
    return drafts, lines


def test_awkward_invoice_values_match_the_reference(awkward_invoice_page) -> None:
    drafts, lines = awkward_invoice_page
    for on_date in (None, date(2025, 12, 31)):
        built = build_invoice_documents(drafts, lines, on_date=on_date)
        _assert_same(built, reference_rows.invoice_documents(drafts, lines, on_date=on_date))
    # The columns really held the awkward values (the page was not cleaned up on the way).
    prepared = frames.prepare_drafts(drafts)
    assert prepared["title"].isin(AWKWARD_TEXTS).sum() > 10 and prepared["title"].isna().any()


def test_awkward_transaction_values_match_the_reference(tmp_path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'bank.sqlite'}")
    page = _transaction_pages(engine)[0].copy()
    engine.dispose()
    n = len(page)
    for column in ("purpose", "counterparty_name", "counterparty_iban", "account_name"):
        page[column] = [AWKWARD_TEXTS[(i * 5 + len(column)) % len(AWKWARD_TEXTS)] if i % 3 else np.nan
                        for i in range(n)]
    page["currency"] = [["EUR", " eur", "EUR", "USD", np.nan][i % 5] for i in range(n)]
    page["kind"] = [["card_payment", "fee", "transfer", "Ünïcødé ✓ 😀", np.nan][i % 5] for i in range(n)]
    # 00:30 and 01:30 UTC on 26 October 2025 are both 02:30 in Berlin: first summer, then winter time.
    stamps = [datetime(2025, 10, 26, 0, 30, tzinfo=timezone.utc), datetime(2025, 10, 26, 1, 30, tzinfo=timezone.utc),
              datetime(2025, 3, 30, 1, 0, 0, 1, tzinfo=timezone.utc), None]
    page["completed_at"] = [stamps[i % 4] for i in range(n)]
    page["amount"] = [[12.5, 100.0, -1234.56, 0.1 + 0.2, -0.0, np.nan, 7.0][i % 7] for i in range(n)]
    page["value_date"] = [["2025-10-26", None, "", "31.12.2025"][i % 4] for i in range(n)]
    page["account_iban"] = ["de89 3704 0044 0532 0130 00" if i % 2 else "DE89370400440532013000" for i in range(n)]
    for since in (None, EXPORT_SINCE):
        built = build_transaction_documents(page, export_since=since)
        _assert_same(built, reference_rows.transaction_documents(page, export_since=since))
    winter = [d for d in built if d.payload and d.payload["transactiondate"].startswith("2025-10-26T02:30")]
    assert {d.payload["transactiondate"][-6:] for d in winter} == {"+02:00", "+01:00"}  # both halves of the night


@pytest.mark.filterwarnings("ignore:Discarding nonzero nanoseconds")  # the reference's event_time drops them too
def test_nanosecond_timestamps_hash_like_the_reference() -> None:
    page = frames.prepare_transactions(pd.DataFrame([{
        "id": f"t{i}", "account_id": "a1", "kind": "card_payment", "status": "completed", "amount": -9.99,
        "currency": "EUR", "booking_date": "2025-05-05", "value_date": None,
        "completed_at": pd.Timestamp("2025-05-05T10:00:00", tz="UTC") + pd.Timedelta(nanoseconds=ns),
        "counterparty_name": "Bäckerei", "counterparty_iban": None, "purpose": "Brötchen",
        "updated_at": pd.Timestamp("2025-05-05T10:00:00", tz="UTC"), "company_id": "b1", "company_name": "B",
        "account_iban": "DE89370400440532013000", "account_name": "Karte", "account_bank_name": "Bank",
        "account_currency": "EUR", "account_is_own": True, "account_kind": "card",
    } for i, ns in enumerate((0, 1_000, 1_500, 123_456_789))]))
    _assert_same(build_transaction_documents(page), reference_rows.transaction_documents(page))


@pytest.mark.parametrize("dtype", ["str", "float64"])
def test_per_distinct_maps_repeated_and_missing_values_like_one_call_per_value(dtype: str) -> None:
    """The factorized path (repeating columns) and the direct one give what calling ``fn`` per value gives,
    on the column types of a prepared frame (missing values are NaN there)."""
    from lexoffice.staging.columns import per_distinct

    if dtype == "str":
        repeating = ["EUR", None, "usd", "EUR", " "] * 200
        distinct = [f"v{i}" if i % 7 else None for i in range(1000)]
    else:
        repeating = [1.5, None, 2.0, 1.5] * 250
        distinct = [i / 3 if i % 7 else None for i in range(1000)]

    def fn(v: object) -> str:
        return f"<{v}>"

    for raw in (repeating, distinct):
        column = pd.Series(raw, dtype=object).astype(dtype)
        expected = [fn(v) if v is not None else "missing" for v in raw]
        assert per_distinct(column, fn, "missing") == expected
