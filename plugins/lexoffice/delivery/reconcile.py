"""Find out whether a POST whose outcome is unknown created something in Lexware Office.

Lexware has no idempotency key and no external id on invoices, so we look: an invoice draft carries
``lxa:<doc_key>`` in its ``remark``; we list drafts created since the attempt (``/v1/voucherlist``), keep those
with the same voucher date, and read each candidate's remark. Transactions carry the source id as
``externalReference``; since one sender per organisation pushes each account's transactions in order, the
account's ``latest-transaction`` tells how far a batch got.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pendulum

BERLIN = pendulum.timezone("Europe/Berlin")


def reference_marker(doc_key: str) -> str:
    return f"lxa:{doc_key}"


def _marker_pattern(doc_key: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w:]){re.escape(reference_marker(doc_key))}(?![\w:.-])")


def _attempt_day(row: Any) -> date:
    started: datetime | None = row.sending_started_at
    if started is None:
        return pendulum.now(BERLIN).date() - timedelta(days=1)
    return pendulum.instance(started).in_timezone(BERLIN).date()


def find_invoice_for_row(client: Any, row: Any, *, contact_id: str | None) -> dict[str, Any] | None:
    """The draft Lexware created for ``row``, or None when there is none."""
    # The day before the attempt as well: a clock difference around midnight must not hide the draft.
    created_from = _attempt_day(row) - timedelta(days=1)
    created_to = pendulum.now(BERLIN).date() + timedelta(days=1)
    want_date = str((row.payload or {}).get("voucherDate", ""))[:10]
    pattern = _marker_pattern(row.doc_key)
    for item in client.iter_voucherlist(
        voucher_type="invoice", voucher_status="any", contact_id=contact_id,
        created_from=created_from, created_to=created_to,
    ):
        if want_date and str(item.get("voucherDate", ""))[:10] != want_date:
            continue
        invoice = client.get_invoice(item["id"])
        texts = " ".join(str(invoice.get(k) or "") for k in ("remark", "introduction", "title"))
        if pattern.search(texts):
            return invoice
    return None


def transactions_landed(latest: dict[str, Any] | None, ordered_doc_keys: Sequence[str],
                        external_reference_of: dict[str, str]) -> int:
    """How many of ``ordered_doc_keys`` (in push order) Lexware has, judged by the account's latest transaction.

    Returns the count of leading rows that landed: 0 when the latest transaction is none of them.
    """
    if not latest:
        return 0
    ref = latest.get("externalReference")
    for position, key in enumerate(ordered_doc_keys):
        if external_reference_of.get(key) == ref:
            return position + 1
    return 0
