"""The per-row definition of a staged document: one function call per field, easy to read and check.

Staging uses the columnar builders in ``lexoffice.staging.invoices`` and ``lexoffice.staging.transactions``,
which do the same work a column at a time (a million rows do not fit a per-field Python call into the
time budget). This module is what they must agree with, document for document; the tests compare both
on generated sources with broken rows and on hand-made edge cases, as ``reference_loop`` does for the
vectorised rules. It is not installed with the provider: only tests and the benchmark use it. The field
helpers it shares with production (``lexoffice.payloads``: texts, dates, address, contact, references) are
the installed ones, so a Lexware field is defined once there and checked here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import date, datetime, timezone
from typing import Any

import pandas as pd

from lexoffice import payloads
from lexoffice.documents import StagedDocument, content_hash
from lexoffice.payloads import Row, as_date, finance_datetime, lexware_datetime, multiline, number, printable, text
from lexoffice.source import frames
from lexoffice.staging.columns import EPOCH
from lexoffice.staging.invoices import HASHED_DRAFT_COLUMNS, HASHED_LINE_COLUMNS
from lexoffice.staging.transactions import HASHED_COLUMNS as HASHED_TRANSACTION_COLUMNS
from lexoffice.validation.invoices import validate_invoices
from lexoffice.validation.transactions import validate_transactions


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
                payload=None if reasons else invoice_payload(draft, draft_lines),
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
                payload=None if reasons else transaction_payload(txn),
                reasons=tuple(reasons),
                source_ref=transaction_source_ref(txn),
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


# --- request bodies and values, one row at a time ---------------------------------------------------------

def line_item(line: Row, tax_type: str) -> dict[str, Any]:
    item: dict[str, Any] = {"type": text(line.get("type")) or "custom", "name": multiline(line.get("name"))}
    description = multiline(line.get("description"))
    if description:
        item["description"] = description
    if item["type"] == "text":
        return item
    price_kind = text(line.get("price_kind")) or tax_type
    item["quantity"] = number(line.get("quantity"))
    item["unitName"] = text(line.get("unit_name"))
    item["unitPrice"] = {
        "currency": "EUR",
        "grossAmount" if price_kind == "gross" else "netAmount": number(line.get("unit_price")),
        "taxRatePercentage": number(line.get("tax_rate")),
    }
    item["discountPercentage"] = number(line.get("discount_percentage")) or 0
    return item


def invoice_payload(draft: Row, lines: Sequence[Row]) -> dict[str, Any]:
    """The ``POST /v1/invoices`` body of a draft (without ``address.contactId``; delivery adds it)."""
    tax_type = text(draft.get("tax_type")) or "net"
    voucher = as_date(draft.get("voucher_date"))
    if voucher is None:
        raise ValueError(f"draft {draft.get('id')!r} has no voucher date; validate before building payloads")
    payload: dict[str, Any] = {
        "voucherDate": lexware_datetime(voucher),
        "address": payloads.address(draft),
        "lineItems": [line_item(line, tax_type) for line in sorted(lines, key=lambda l: int(l["position"]))],
        "totalPrice": {"currency": "EUR"},
        "taxConditions": {"taxType": tax_type},
        "shippingConditions": payloads.shipping_conditions(draft),
    }
    title = multiline(draft.get("title"))
    if title:
        payload["title"] = title
    introduction = multiline(draft.get("introduction"))
    if introduction:
        payload["introduction"] = introduction
    payload["remark"] = payloads.remark_with_reference(draft)
    return payload


def transaction_payload(txn: Row) -> dict[str, Any]:
    """One element of the ``POST finance/transactions`` array (delivery adds ``financialAccountId``)."""
    booking = as_date(txn.get("booking_date"))
    completed = txn.get("completed_at")
    if booking is None or completed is None or completed != completed:
        raise ValueError(f"transaction {txn.get('id')!r} lacks a booking date or completion time")
    payload: dict[str, Any] = {
        "valueDate": finance_datetime(as_date(txn.get("value_date")) or booking),
        "bookingDate": finance_datetime(booking),
        "transactiondate": finance_datetime(completed),
        # Validation allows at most 2 decimals and |amount| <= MAX_AMOUNT: the float's JSON text is exactly the
        # source's amount, so nothing is rounded here.
        "amount": float(txn["amount"]),
        "purpose": printable(multiline(txn.get("purpose"))) or "",
    }
    # Required by the finance API; a bank does not always know the other side (fees, some card payments).
    payload["recipientOrSenderName"] = printable(text(txn.get("counterparty_name"))) or payloads.UNKNOWN_COUNTERPARTY
    iban = payloads.compact(txn.get("counterparty_iban"))
    if iban:
        payload["recipientOrSenderIban"] = iban
    payload["externalReference"] = str(txn["id"])
    return payload


def transaction_source_ref(txn: Row) -> str:
    """What a person recognises: ``2025-03-04 -45.20 EUR REWE Markt (card, txn 8f2c…)``."""
    try:
        booking = as_date(txn.get("booking_date"))
    except (TypeError, ValueError):  # an unparsable source date; validation reports it
        booking = None
    amount = number(txn.get("amount"))
    parts = [
        booking.isoformat() if booking else "?",
        f"{amount:.2f}" if amount is not None else "?",
        text(txn.get("currency")) or "",
        text(txn.get("counterparty_name")) or "-",
    ]
    kind = text(txn.get("kind")) or "?"
    return " ".join(p for p in parts if p) + f" ({kind}, txn {txn['id']})"


def sort_key(moment: datetime, doc_id: str) -> str:
    """Time then id, fixed-width UTC so that text order is time order."""
    return f"{moment.astimezone(timezone.utc).isoformat(timespec='microseconds')}|{doc_id}"


def jsonable(value: Any) -> Any:
    """Plain JSON values for hashing: NaN/NaT become None, numpy scalars Python ones."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return jsonable(value.item())
    return value
