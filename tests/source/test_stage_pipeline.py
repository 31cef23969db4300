"""staging.stage.stage_tenant over many pages: every document staged once, progress after every batch, and the
overlapped path (read-ahead and write-behind threads, PostgreSQL) stores exactly what the serial one does."""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from demo.generate import generate_bank
from lexoffice.documents import Stream
from lexoffice.staging import background, stage
from lexoffice.staging.invoices import iter_invoice_documents
from lexoffice.staging.transactions import iter_transaction_documents
from lexoffice.staging.windows import Window
from lexoffice.state import tenants
from lexoffice.state.db import init_db
from tests.source.staged import fieldservice_tenants, stored

WINDOW = Window(datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2025, 7, 1, tzinfo=timezone.utc))
EXPORT_SINCE = date(2025, 1, 1)


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 37 documents and outbox batches of 16 (a few hundred documents make many of each); progress
    is logged after every batch."""
    monkeypatch.setattr(stage, "SOURCE_PAGE", 37)
    monkeypatch.setattr(stage, "STAGE_BATCH", 16)
    monkeypatch.setattr(stage, "PROGRESS_EVERY_SECONDS", 0.0)


def _stage(engine: sa.Engine, tenant_id: str, stream: Stream, **kwargs) -> dict:
    tenant = tenants.get_tenant(engine, tenant_id)
    return stage.stage_tenant(state_engine=engine, source_engine=engine, tenant=tenant, stream=stream,
                                 window=WINDOW, run_id="run-1", **kwargs)


@pytest.mark.usefixtures("small_pages")
def test_many_pages_of_transactions_are_staged_once_with_progress(engine: sa.Engine,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    company = generate_bank(engine, seed=5, companies=1, accounts_per_company=2, transactions_per_account=170,
                            start=date(2025, 1, 1), days=150, collect_expected=False)["company_ids"][0]
    init_db(engine)
    tenants.add_tenant(engine, tenant_id="t1", name="Bank GmbH", lexoffice_conn_id="lexoffice_t1",
                       bank_company_id=company, export_since=EXPORT_SINCE)
    expected = {doc.doc_key: doc for chunk in iter_transaction_documents(
        engine, company_id=company, start=WINDOW.start, end=WINDOW.end,
        export_since=datetime(2025, 1, 1, tzinfo=timezone.utc)) for doc in chunk}
    seen: list[int] = []

    with caplog.at_level(logging.INFO, logger="lexoffice.staging.stage"):
        result = _stage(engine, "t1", Stream.TRANSACTIONS, on_progress=lambda counts: seen.append(counts.total))

    counts = result["counts"]
    assert len(expected) > 300
    assert counts["new_pending"] + counts["new_invalid"] == len(expected) and counts["new_invalid"] > 0
    assert seen == sorted(seen) and len(seen) >= len(expected) // 16 and seen[-1] == len(expected)
    rows = stored(engine, "t1", Stream.TRANSACTIONS)
    assert set(rows) == set(expected)  # each once: doc_key is unique per tenant and stream
    for key, doc in expected.items():
        assert rows[key][1:3] == (doc.content_hash, doc.payload)
    progress = [r.getMessage() for r in caplog.records if "documents staged" in r.getMessage()]
    assert len(progress) >= 2 and progress[-1].startswith(f"tenant t1 transactions: {len(expected)} documents staged")

    again = _stage(engine, "t1", Stream.TRANSACTIONS)["counts"]
    assert again["unchanged"] == len(expected) and again["new_pending"] == again["revalidated"] == 0


@pytest.mark.usefixtures("small_pages")
def test_without_helper_threads_the_outbox_is_the_same(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    company = fieldservice_tenants(engine, ("threads", "serial"), seed=5, drafts=200, days=150,
                                   export_since=EXPORT_SINCE)

    threaded = _stage(engine, "threads", Stream.INVOICES)
    monkeypatch.setenv("LEXOFFICE_BACKGROUND_THREADS", "0")
    serial = _stage(engine, "serial", Stream.INVOICES)

    assert threaded["counts"] == serial["counts"]
    assert threaded["counts"]["new_pending"] + threaded["counts"]["new_invalid"] == 200
    assert stored(engine, "threads", Stream.INVOICES) == stored(engine, "serial", Stream.INVOICES)
    expected = {doc.doc_key for chunk in iter_invoice_documents(engine, company_id=company, start=WINDOW.start,
                                                               end=WINDOW.end) for doc in chunk}
    assert set(stored(engine, "serial", Stream.INVOICES)) == expected


@pytest.mark.usefixtures("small_pages")
def test_staging_overlaps_reading_and_writing_only_on_a_database_server(engine: sa.Engine,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The source and the outbox know nothing of threads: staging wraps the source's pages in a read-ahead and
    hands the outbox a write-behind, on PostgreSQL only (an SQLite connection belongs to its thread)."""
    fieldservice_tenants(engine, ("t",), seed=7, drafts=120, days=150, export_since=EXPORT_SINCE)
    read_ahead_calls: list[str] = []
    real_read_ahead = background.read_ahead

    def counting_read_ahead(items, *, name="read-ahead"):  # type: ignore[no-untyped-def]
        read_ahead_calls.append(name)
        return real_read_ahead(items, name=name)

    monkeypatch.setattr(background, "read_ahead", counting_read_ahead)
    writers: set[str] = set()

    result = _stage(engine, "t", Stream.INVOICES,
                    on_progress=lambda counts: writers.add(threading.current_thread().name))

    assert result["counts"]["new_pending"] + result["counts"]["new_invalid"] == 120
    if engine.dialect.name == "postgresql":
        assert read_ahead_calls == ["source-pages"]
        assert writers == {"outbox-writer"}  # every batch was committed by the write-behind thread
    else:
        assert read_ahead_calls == []
        assert writers == {threading.main_thread().name}
