"""The per-row definition of a staged document: one function call per field, easy to read and check.

Staging uses the columnar builders in ``lexoffice.source.invoices`` and ``lexoffice.source.transactions``,
which do the same work a column at a time (a million rows do not fit a per-field Python call into the
time budget). This module is what they must agree with, document for document; the tests compare both
on generated sources with broken rows and on hand-made edge cases, as ``validation.reference_loop`` does
for the vectorised rules.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, datetime, timezone
from typing import Any

import pandas as pd

from lexoffice import payloads
from lexoffice.documents import StagedDocument, content_hash
from lexoffice.source import frames
from lexoffice.source.values import jsonable, sort_key
from lexoffice.validation.invoices import validate_invoices
from lexoffice.validation.transactions import validate_transactions

DRAFT_STAMPS = ("created_at", "updated_at", "event_at")

#: Everything about a draft that influences its payload or its validation. Timestamps are left out on
#: purpose: touching a row without changing it must not look like a change. Dates are hashed as the
#: source's text, so a correction of an unparsable date counts.
HASHED_DRAFT_COLUMNS = tuple(
    f"{c}_text" if c in frames.DRAFTS.dates else c for c in frames.DRAFTS.columns if c not in DRAFT_STAMPS
)
HASHED_LINE_COLUMNS = frames.LINES.columns

#: Transaction fields that influence the payload or validation; ``updated_at`` is left out (a touch is no change).
HASHED_TRANSACTION_COLUMNS = tuple(
    f"{c}_text" if c in frames.TRANSACTIONS.dates else c for c in frames.TRANSACTIONS.columns if c != "updated_at"
)

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# --- invoices ------------------------------------------------------------------------------------------------

def invoice_documents(drafts: pd.DataFrame, lines: pd.DataFrame, *,
                      on_date: date | None = None) -> list[StagedDocument]:
    """Validate a page of drafts and build one ``StagedDocument`` per draft (payload only when valid)."""
    drafts = frames.prepare_drafts(drafts)
    lines = frames.prepare_lines(lines)
    verdicts = validate_invoices(drafts, lines, on_date=on_date)
    lines_by_draft = _group_lines(lines)
    documents = []
    for draft, reasons in zip(drafts.to_dict("records"), verdicts["reasons"], strict=True):
        draft_lines = lines_by_draft.get(draft["id"], [])
        event_time = draft_event_time(draft)
        documents.append(
            StagedDocument(
                doc_key=payloads.invoice_doc_key(draft["id"]),
                content_hash=invoice_content_hash(draft, draft_lines),
                payload=None if reasons else payloads.invoice_payload(draft, draft_lines),
                reasons=tuple(reasons),
                source_ref=payloads.invoice_source_ref(draft),
                event_time=event_time,
                group_key=payloads.customer_key(draft),
                sort_key=sort_key(event_time, payloads.key_id(draft["id"])),
                related={} if reasons else payloads.invoice_related(draft),
            )
        )
    return documents


def draft_event_time(draft: dict[str, Any]) -> datetime:
    """Last change, else creation (a time the source holds as no time at all), else 1970."""
    return first_time(draft, ("event_at", "created_at"))


def first_time(row: dict[str, Any], columns: Sequence[str]) -> datetime:
    """The first of ``columns`` that holds a time, else 1970 (the row is still recorded, with its reason)."""
    for column in columns:
        value = row[column]
        if value is not pd.NaT and value is not None:
            return value.to_pydatetime()
    return EPOCH


def invoice_content_hash(draft: dict[str, Any], lines: Sequence[dict[str, Any]]) -> str:
    """Hash of the draft's own fields, its company and customer data and its lines (in position order)."""
    return content_hash(
        "invoice",
        {c: jsonable(draft[c]) for c in HASHED_DRAFT_COLUMNS},
        [{c: jsonable(line[c]) for c in HASHED_LINE_COLUMNS} for line in lines],
    )


def _group_lines(lines: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    ordered = lines.sort_values(["draft_id", "position"], kind="stable").to_dict("records")
    return {key: list(group) for key, group in itertools.groupby(ordered, key=lambda line: line["draft_id"])}


# --- transactions --------------------------------------------------------------------------------------------

def transaction_documents(transactions: pd.DataFrame, *,
                          export_since: datetime | None = None) -> list[StagedDocument]:
    """Validate a page of transactions and build one ``StagedDocument`` each (payload only when valid)."""
    transactions = frames.prepare_transactions(transactions)
    verdicts = validate_transactions(transactions, export_since=export_since)
    documents = []
    for txn, reasons in zip(transactions.to_dict("records"), verdicts["reasons"], strict=True):
        event_time = transaction_event_time(txn)
        documents.append(
            StagedDocument(
                doc_key=payloads.transaction_doc_key(txn["id"]),
                content_hash=transaction_content_hash(txn, export_since),
                payload=None if reasons else payloads.transaction_payload(txn),
                reasons=tuple(reasons),
                source_ref=payloads.transaction_source_ref(txn),
                event_time=event_time,
                group_key=payloads.account_key(txn["account_id"]),
                sort_key=sort_key(event_time, payloads.key_id(txn["id"])),
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
        {c: jsonable(txn[c]) for c in HASHED_TRANSACTION_COLUMNS},
        {"before_export_since": before},
    )


def transaction_event_time(txn: dict[str, Any]) -> datetime:
    """Completion time; for transactions that never completed (selected by id), the last change."""
    return first_time(txn, ("completed_at", "updated_at"))
