"""Bank and card transactions as ``StagedDocument`` lists, one source page at a time: validated, hashed, built.

Pages come from ``lexoffice.source.transactions`` (windows by completion time; a selection by id reads any
status and lets validation say why a transaction cannot be sent). On a database server the next page is read
in a thread meanwhile (``background.read_ahead``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from lexoffice import payloads
from lexoffice.documents import StagedDocument
from lexoffice.source import frames
from lexoffice.source.timestamps import require_aware
from lexoffice.source.transactions import iter_transaction_frames
from lexoffice.staging import background, columns
from lexoffice.staging.columns import EPOCH
from lexoffice.validation.transactions import validate_transactions

#: Transaction fields that influence the payload or validation; ``updated_at`` is left out (a touch is no change).
HASHED_COLUMNS = tuple(
    f"{c}_text" if c in frames.TRANSACTIONS.dates else c for c in frames.TRANSACTIONS.columns if c != "updated_at"
)


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
    before the tenant's export start (selections are not clamped by windows.py; validation catches them).
    """
    require_aware("export_since", export_since)
    pages = iter_transaction_frames(engine, company_id=company_id, start=start, end=end, ids=ids,
                                    chunk_size=chunk_size)
    if background.worth_a_thread(engine):
        pages = background.read_ahead(pages, name="source-pages")
    for page in pages:
        yield build_transaction_documents(page, export_since=export_since)


def build_transaction_documents(transactions: pd.DataFrame, *,
                                export_since: datetime | None = None) -> list[StagedDocument]:
    """Validate a page of transactions and build one ``StagedDocument`` each (payload only when valid).

    Column at a time; ``reference_rows.transaction_documents`` is the per-row definition it agrees with.
    """
    t = frames.prepare_transactions(transactions)
    reasons_per_row = validate_transactions(t, export_since=export_since)["reasons"].tolist()
    ids = t["id"].tolist()
    hashes = _content_hashes(t, export_since)
    event_times, sort_keys = _event_times_and_sort_keys(t, ids)
    group_keys = columns.per_distinct(t["account_id"], payloads.account_key, None)
    source_refs = _source_refs(t, ids)
    payload_list, related_list = _payloads_and_related(t, ids, reasons_per_row)
    return [
        StagedDocument(
            doc_key=payloads.transaction_doc_key(doc_id),
            content_hash=content_hash_,
            payload=payload,
            reasons=tuple(reasons),
            source_ref=source_ref,
            event_time=event_time,
            group_key=group_key,
            sort_key=key,
            related=related,
        )
        for doc_id, content_hash_, payload, reasons, source_ref, event_time, group_key, key, related in zip(
            ids, hashes, payload_list, reasons_per_row, source_refs, event_times, group_keys, sort_keys,
            related_list, strict=True,
        )
    ]


def _content_hashes(t: pd.DataFrame, export_since: datetime | None) -> list[str]:
    """``reference_rows.transaction_content_hash`` of every row."""
    fields = columns.json_objects(t, HASHED_COLUMNS)
    before = columns.is_before(t["completed_at"], export_since)
    return columns.sha256_hex([
        f'["transaction",{f},{{"before_export_since":{"true" if b else "false"}}}]'
        for f, b in zip(fields, before, strict=True)
    ])


def _event_times_and_sort_keys(t: pd.DataFrame, ids: list[str]) -> tuple[list[datetime], list[str]]:
    """Completion time, else the last change (selected transactions that never completed), else 1970."""
    moment = t["completed_at"].fillna(t["updated_at"]).fillna(pd.Timestamp(EPOCH))
    stamps = columns.iso_utc_microseconds(moment)
    keys = [payloads.key_id(i) for i in ids]
    return moment.dt.to_pydatetime().tolist(), [f"{s}|{i}" for s, i in zip(stamps, keys, strict=True)]


def _source_refs(t: pd.DataFrame, ids: list[str]) -> list[str]:
    """``payloads.transaction_source_ref`` of every row."""
    bookings = [d.isoformat() if d else "?" for d in columns.dates(t["booking_date"])]
    amounts = ["?" if a is None else f"{a:.2f}" for a in columns.numbers(t["amount"])]
    currencies = columns.texts(t["currency"])
    names = [n or "-" for n in columns.texts(t["counterparty_name"])]
    kinds = [k or "?" for k in columns.texts(t["kind"])]
    return [
        f"{b} {a} {c} {n} ({k}, txn {i})" if c else f"{b} {a} {n} ({k}, txn {i})"
        for b, a, c, n, k, i in zip(bookings, amounts, currencies, names, kinds, ids, strict=True)
    ]


def _payloads_and_related(t: pd.DataFrame, ids: list[str], reasons_per_row: list[list[Any]],
                          ) -> tuple[list[dict[str, Any] | None], list[dict[str, Any]]]:
    """``payloads.transaction_payload`` and ``transaction_related`` of every valid row (None/{} otherwise)."""
    valid = [not r for r in reasons_per_row]
    if not any(valid):
        return [None] * len(ids), [{} for _ in ids]
    finance_day = columns.day_formatter(payloads.finance_datetime)
    bookings = columns.dates(t["booking_date"])
    value_dates = columns.dates(t["value_date"])
    completed = columns.finance_datetimes(t["completed_at"])
    amounts = t["amount"].tolist()
    purposes = columns.printables(columns.multilines(columns.texts(t["purpose"])))
    names = columns.printables(columns.texts(t["counterparty_name"]))
    counter_ibans = columns.compacts(columns.texts(t["counterparty_iban"]))
    accounts = _accounts(t)
    payload_list: list[dict[str, Any] | None] = []
    related_list: list[dict[str, Any]] = []
    for i, ok in enumerate(valid):
        if not ok:
            payload_list.append(None)
            related_list.append({})
            continue
        payload: dict[str, Any] = {
            "valueDate": finance_day(value_dates[i] or bookings[i]),
            "bookingDate": finance_day(bookings[i]),
            "transactiondate": completed[i],
            "amount": amounts[i],  # exact: validation bounds size and decimals (validation.transactions)
            "purpose": purposes[i] or "",
            "recipientOrSenderName": names[i] or payloads.UNKNOWN_COUNTERPARTY,
        }
        if counter_ibans[i]:
            payload["recipientOrSenderIban"] = counter_ibans[i]
        payload["externalReference"] = ids[i]
        payload_list.append(payload)
        related_list.append(accounts[i])
    return payload_list, related_list


def _accounts(t: pd.DataFrame) -> list[dict[str, Any]]:
    """``payloads.transaction_related`` per row, built once per account (a page has few accounts)."""
    keys = list(zip(t["account_id"].tolist(), t["account_kind"].tolist(), t["account_name"].tolist(),
                    t["account_bank_name"].tolist(), t["account_iban"].tolist(), strict=True))
    cache: dict[tuple[Any, ...], dict[str, Any]] = {}
    out = []
    for key in keys:
        related = cache.get(key)
        if related is None:
            account_id, kind, name, bank_name, account_iban = key
            row = {"account_id": account_id, "account_kind": kind, "account_name": name,
                   "account_bank_name": bank_name, "account_iban": account_iban}
            related = cache[key] = payloads.transaction_related(row)
        out.append(related)
    return out
