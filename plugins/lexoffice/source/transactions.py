"""Bank and card transactions from the bank source, as ``StagedDocument`` lists one page at a time.

Windows read by completion time, so a pending card payment is not read until it completes; a manual
selection by id reads any status and lets validation say why a transaction cannot be sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from lexoffice import payloads
from lexoffice.documents import StagedDocument, content_hash
from lexoffice.source import frames
from lexoffice.source.extract import check_page_size, check_window, id_pages, query, window_pages
from lexoffice.source.timestamps import require_aware
from lexoffice.source.values import jsonable, sort_key
from lexoffice.validation.transactions import validate_transactions

_STAMPS = ("completed_at", "updated_at")

#: Fields that influence the payload or validation; ``updated_at`` is left out (a touch is no change).
HASHED_COLUMNS = tuple(
    f"{c}_text" if c in frames.TRANSACTIONS.dates else c for c in frames.TRANSACTIONS.columns if c != "updated_at"
)

_WINDOW = "transactions_window.sql"
_BY_IDS = "transactions_by_ids.sql"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def iter_transaction_documents(
    engine: sa.Engine,
    *,
    company_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
    ids: Sequence[str] | None = None,
    export_since: datetime | None = None,
    chunk_size: int = 5000,
) -> Iterator[list[StagedDocument]]:
    """Transactions of bank customer ``company_id`` completed in ``[start, end)``, or exactly those in
    ``ids`` (any status; other customers' ids are ignored). ``export_since`` flags transactions completed
    before the tenant's export start (selections are not clamped by windows.py, validation catches them).
    """
    require_aware("export_since", export_since)
    for page in iter_transaction_frames(engine, company_id=company_id, start=start, end=end, ids=ids,
                                        chunk_size=chunk_size):
        yield build_transaction_documents(page, export_since=export_since)


def iter_transaction_frames(
    engine: sa.Engine,
    *,
    company_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
    ids: Sequence[str] | None = None,
    chunk_size: int = 5000,
) -> Iterator[pd.DataFrame]:
    """The pages behind ``iter_transaction_documents`` as prepared frames (for the benchmark)."""
    check_page_size(chunk_size)

    def enrich(conn: Connection, rows: list[RowMapping]) -> list[RowMapping]:
        return rows

    if ids is not None:
        statement = query(_BY_IDS, expanding=("ids",), result_timestamps=_STAMPS)
        pages = id_pages(engine, statement, {"company_id": company_id}, ids=ids, page_size=chunk_size,
                         enrich=enrich)
    else:
        start, end = check_window(start, end)
        statement = query(_WINDOW, datetimes=("start", "end", "after_completed_at"), result_timestamps=_STAMPS)
        pages = window_pages(engine, statement, {"company_id": company_id, "start": start, "end": end},
                             start=start, cursor_column="completed_at", after_param="after_completed_at",
                             page_size=chunk_size, enrich=enrich)
    for rows in pages:
        yield frames.from_rows(frames.TRANSACTIONS, rows)


def build_transaction_documents(transactions: pd.DataFrame, *,
                                export_since: datetime | None = None) -> list[StagedDocument]:
    """Validate a page of transactions and build one ``StagedDocument`` each (payload only when valid)."""
    transactions = frames.prepare_transactions(transactions)
    verdicts = validate_transactions(transactions, export_since=export_since)
    documents = []
    for txn, reasons in zip(transactions.to_dict("records"), verdicts["reasons"], strict=True):
        event_time = _event_time(txn)
        documents.append(
            StagedDocument(
                doc_key=payloads.transaction_doc_key(txn["id"]),
                content_hash=transaction_content_hash(txn, export_since),
                payload=None if reasons else payloads.transaction_payload(txn),
                reasons=tuple(reasons),
                source_ref=payloads.transaction_source_ref(txn),
                event_time=event_time,
                group_key=payloads.compact(txn["account_iban"]),
                sort_key=sort_key(event_time, txn["id"]),
                related={} if reasons else payloads.transaction_related(txn),
            )
        )
    return documents


def transaction_content_hash(txn: dict[str, Any], export_since: datetime | None) -> str:
    """Hash of the transaction and its account. ``export_since`` enters only as whether this transaction
    lies before it, so moving the date forward changes the hash of exactly the transactions it excludes."""
    completed = txn["completed_at"]
    before = export_since is not None and completed is not pd.NaT and completed < export_since
    return content_hash(
        "transaction",
        {c: jsonable(txn[c]) for c in HASHED_COLUMNS},
        {"before_export_since": before},
    )


def _event_time(txn: dict[str, Any]) -> datetime:
    """Completion time; for transactions that never completed (selected by id), the last change."""
    for column in ("completed_at", "updated_at"):
        value = txn[column]
        if value is not pd.NaT and value is not None:
            return value.to_pydatetime()
    return _EPOCH
