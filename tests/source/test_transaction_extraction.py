"""Extraction of bank transactions on SQLite and PostgreSQL: completion-time windows, selections, chunks."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from demo.source_db import insert_rows
from lexoffice.source import tables
from lexoffice.source.extract import Rows
from lexoffice.source.transactions import iter_transaction_frames, with_account_columns
from lexoffice.staging.transactions import iter_transaction_documents
from tests.source.rows import fresh_schemas, insert_transaction_rows, transaction_rows

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2025, 3, 1, tzinfo=BERLIN)
END = datetime(2025, 3, 2, tzinfo=BERLIN)
US = timedelta(microseconds=1)


@pytest.fixture
def source(engine: sa.Engine) -> sa.Engine:
    return fresh_schemas(engine)


def _transactions(engine: sa.Engine, completions: dict[str, datetime | None], company: str = "a") -> dict[str, str]:
    """Card payments ``name -> completed_at`` (None: still pending) on one account; returns name -> id."""
    documents = []
    for name, completed in completions.items():
        rows = transaction_rows(f"{company}-{name}", completed_at=completed)
        rows.transaction.update(kind="card", counterparty_iban=None, counterparty_name="REWE Markt GmbH",
                                booking_date=START.date() - timedelta(days=3), account_id=f"ac-{company}")
        documents.append(rows)
    owner = documents[0]
    owner.customer["id"] = f"bc-{company}"
    owner.account.update(id=f"ac-{company}", company_id=f"bc-{company}")
    insert_transaction_rows(engine, *documents, owners=[owner])
    return {name: rows.transaction_id for name, rows in zip(completions, documents)}


def _ids(chunks) -> list[str]:
    return [document.doc_key.removeprefix("txn:") for chunk in chunks for document in chunk]


def test_window_reads_by_completion_time_half_open(source: sa.Engine) -> None:
    ids = _transactions(source, {
        "at-start": START, "before-start": START - US, "before-end": END - US, "at-end": END, "pending": None,
    })
    _transactions(source, {"other-customer": START + timedelta(hours=1)}, company="b")
    chunks = list(iter_transaction_documents(source, company_id="bc-a", start=START, end=END))
    assert _ids(chunks) == [ids["at-start"], ids["before-end"]]  # booked days earlier: completion counts
    first = chunks[0][0]
    assert first.event_time == START and first.is_valid
    assert first.sort_key == f"2025-02-28T23:00:00.000000+00:00|{ids['at-start']}"
    assert first.group_key == f"account:{first.related['account_id']}"  # the source account, not its IBAN


def test_selection_reads_any_status_and_says_why(source: sa.Engine) -> None:
    ids = _transactions(source, {"pending": None, "done": START, "old": START - timedelta(days=90)})
    foreign = _transactions(source, {"x": START}, company="b")
    chunks = list(iter_transaction_documents(
        source, company_id="bc-a", ids=[ids["pending"], ids["done"], ids["old"], foreign["x"], "no-such-id"],
        export_since=START - timedelta(days=30)))
    documents = {d.doc_key.removeprefix("txn:"): d for chunk in chunks for d in chunk}
    assert set(documents) == {ids["pending"], ids["done"], ids["old"]}
    assert [r.code for r in documents[ids["pending"]].reasons] == ["TXN_NOT_COMPLETED"]
    assert [r.code for r in documents[ids["old"]].reasons] == ["TXN_BEFORE_EXPORT_SINCE"]
    assert documents[ids["done"]].is_valid
    assert documents[ids["pending"]].payload is None


def test_chunks_are_bounded_and_lazy(source: sa.Engine) -> None:
    same = START + timedelta(hours=3)
    ids = _transactions(source, {f"{i:02d}": same if i % 4 == 0 else START + timedelta(minutes=11 * i)
                                 for i in range(17)})
    page_sizes: list[object] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM transactions t" in statement:
            page_sizes.append(parameters["page_size"] if isinstance(parameters, dict) else parameters[-1])

    sa.event.listen(source, "before_cursor_execute", record)
    iterator = iter_transaction_documents(source, company_id="bc-a", start=START, end=END, chunk_size=4)
    first = next(iterator)
    time.sleep(0.3)  # time enough for an unbounded reader to read everything
    # Lazy: on a database server the next page is read while this one is used (lexoffice.staging.background), no more.
    read_ahead = 1 if source.dialect.name != "sqlite" else 0
    assert len(first) == 4 and 1 <= len(page_sizes) <= 1 + read_ahead
    chunks = [first, *iterator]
    assert [len(c) for c in chunks] == [4, 4, 4, 4, 1]
    assert page_sizes == [4] * 5  # every page asks for at most chunk_size rows
    assert sorted(_ids(chunks)) == sorted(ids.values())
    sort_keys = [d.sort_key for chunk in chunks for d in chunk]
    assert sort_keys == sorted(sort_keys)  # read order is delivery order: completion time, then id


def test_naive_export_since_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next(iter_transaction_documents(sa.create_engine("sqlite://"), company_id="bc-a", start=START, end=END,
                                        export_since=datetime(2025, 1, 1)))


def test_hash_changes_only_when_export_since_changes_the_verdict(source: sa.Engine) -> None:
    ids = _transactions(source, {"early": START, "late": START + timedelta(hours=5)})

    def hashes(export_since: datetime | None) -> dict[str, str]:
        return {d.doc_key: d.content_hash for chunk in iter_transaction_documents(
            source, company_id="bc-a", ids=list(ids.values()), export_since=export_since) for d in chunk}

    none, before_both, between = hashes(None), hashes(START - timedelta(days=1)), hashes(START + timedelta(hours=1))
    assert none == before_both
    assert between[f"txn:{ids['late']}"] == none[f"txn:{ids['late']}"]
    assert between[f"txn:{ids['early']}"] != none[f"txn:{ids['early']}"]
    with source.begin() as conn:
        conn.execute(sa.text("UPDATE transactions SET updated_at = :t"), {"t": "2030-01-01 00:00:00.000000"}
                     if source.dialect.name == "sqlite" else {"t": datetime(2030, 1, 1, tzinfo=timezone.utc)})
    assert hashes(None) == none  # a touch is no change
    with source.begin() as conn:
        conn.execute(sa.text("UPDATE accounts SET name = 'Hauptkonto'"))
    assert set(hashes(None).values()).isdisjoint(none.values())  # account data is part of the document


def test_reading_pages_leaves_the_connections_types_as_they_were(source: sa.Engine) -> None:
    """Pages are read with numbers as float and times as text (cheaper to convert a column at a time); a
    pooled connection must give the next user Decimal and datetime again."""
    _transactions(source, {"x": START + timedelta(hours=1)})
    one_connection = sa.create_engine(source.url, pool_size=1, max_overflow=0, poolclass=sa.pool.QueuePool)
    try:
        [chunk] = list(iter_transaction_documents(one_connection, company_id="bc-a", start=START, end=END))
        assert chunk[0].payload["amount"] == float(transaction_rows("a-x").transaction["amount"])
        with one_connection.connect() as conn:
            amount, completed = conn.execute(sa.text("SELECT amount, completed_at FROM transactions")).one()
    finally:
        one_connection.dispose()
    if source.dialect.name == "postgresql":
        assert isinstance(amount, Decimal) and isinstance(completed, datetime)


def test_each_transaction_carries_its_own_accounts_columns(source: sa.Engine) -> None:
    """Accounts are read once per page and matched to the transactions by account_id."""
    documents = []
    accounts = {"giro": ("DE89 3704 0044 0532 0130 00", True), "card": ("DE02 1203 0000 0000 2020 51", True)}
    for n in range(6):
        kind = "giro" if n % 3 else "card"
        rows = transaction_rows(f"mix-{n}", completed_at=START + timedelta(minutes=n))
        rows.customer["id"] = "bc-mix"
        rows.account.update(id=f"ac-{kind}", company_id="bc-mix", iban=accounts[kind][0], is_own=accounts[kind][1],
                            name=f"Konto {kind}", kind=kind)
        rows.transaction["account_id"] = f"ac-{kind}"
        documents.append(rows)
    with source.begin() as conn:  # the customer once, each account once (documents 0 and 1: card, giro)
        insert_rows(conn, tables.bank_customers, [documents[0].customer])
        insert_rows(conn, tables.accounts, [documents[0].account, documents[1].account])
        insert_rows(conn, tables.transactions, [d.transaction for d in documents])

    (page,) = list(iter_transaction_frames(source, company_id="bc-mix", start=START, end=END, chunk_size=100))

    assert page["account_id"].tolist() == ["ac-card", "ac-giro", "ac-giro"] * 2
    for row in page.itertuples():
        kind = row.account_id.removeprefix("ac-")
        assert (row.account_iban, bool(row.account_is_own), row.account_name, row.account_kind) == (
            accounts[kind][0], accounts[kind][1], f"Konto {kind}", kind)
        assert (row.company_id, row.company_name) == ("bc-mix", "Zimmerei Köhler GmbH")


def test_a_transaction_whose_account_is_gone_names_itself() -> None:
    page = Rows(("id", "account_id"), [("tx-1", "ac-1"), ("tx-2", "ac-2")])
    accounts = Rows(("account_id", "account_iban"), [("ac-1", "DE89370400440532013000")])
    with pytest.raises(LookupError, match="transaction tx-2: its account ac-2 was not found"):
        with_account_columns(page, accounts)
    both = Rows(accounts.columns, accounts.values + [("ac-2", "DE02120300000000202051")])
    assert list(with_account_columns(page, both)["account_iban"]) == ["DE89370400440532013000",
                                                                      "DE02120300000000202051"]
