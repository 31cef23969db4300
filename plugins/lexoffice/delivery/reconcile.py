"""Find out whether a POST whose outcome is unknown created something in Lexware Office.

Lexware has no idempotency key and no external id on invoices, so we look: an invoice draft carries its
reference line (``Referenz: … · lxa:<doc_key>``) as the last line of its ``remark``; we list drafts created since
the attempt (``/v1/voucherlist``), keep those with the same voucher date, read each candidate and match the whole
reference line, then cross-check customer, voucher date and lines. Transactions carry the source id as
``externalReference``; the partner API offers no lookup by it (reference notes §10.2), only the account's
``latest-transaction``. One sender per organisation pushes each account's transactions in order, in atomic
batches, so the latest transaction tells whether the one unknown batch landed, as long as nobody else writes to
the account; when somebody did, the answer is ambiguous and the batch stays unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pendulum

from lexoffice.client.api import LexofficeClient
from lexoffice.payloads import REFERENCE_MARKER

BERLIN = pendulum.timezone("Europe/Berlin")


def reference_marker(doc_key: str) -> str:
    return f"{REFERENCE_MARKER}{doc_key}"


def reference_line_of(payload: dict[str, Any] | None) -> str:
    """The reference line the project wrote: the last line of the payload's ``remark`` (see payloads.py)."""
    remark = str((payload or {}).get("remark") or "")
    return remark.splitlines()[-1].strip() if remark.strip() else ""


def carries_reference(invoice: dict[str, Any], reference_line: str) -> bool:
    """Exactly one whole line of the invoice's ``remark`` is ``reference_line``.

    Only ``remark``: the one field the project writes the reference to. A whole line, so that ``lxa:draft:R1``
    does not match ``lxa:draft:R1 x``, ``lxa:draft:R1/5`` or a sentence quoting another draft's marker.
    """
    if not reference_line:
        return False
    lines = [line.strip() for line in str(invoice.get("remark") or "").splitlines()]
    return lines.count(reference_line) == 1


def _amount(value: Any) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except ArithmeticError:
        return None


def _line_signature(item: dict[str, Any], price_keys: tuple[str, ...]) -> tuple[Any, ...]:
    price = item.get("unitPrice") or {}
    return (item.get("type"), " ".join(str(item.get("name") or "").split()), _amount(item.get("quantity")),
            *(_amount(price.get(key)) for key in price_keys))


def disagreement(invoice: dict[str, Any], row: Any, *, contact_id: str | None) -> str | None:
    """What a draft carrying our reference line disagrees on (customer, voucher date, lines and prices), or None.

    The lines and unit prices decide the total, so they are compared instead of a total recomputed here.
    """
    payload = row.payload or {}
    if contact_id and (invoice.get("address") or {}).get("contactId") != contact_id:
        return f"customer {(invoice.get('address') or {}).get('contactId')} instead of {contact_id}"
    want_date = str(payload.get("voucherDate", ""))[:10]
    if want_date and str(invoice.get("voucherDate", ""))[:10] != want_date:
        return f"voucher date {str(invoice.get('voucherDate', ''))[:10]} instead of {want_date}"
    ours = payload.get("lineItems") or []
    theirs = invoice.get("lineItems") or []
    if len(ours) != len(theirs):
        return f"{len(theirs)} line(s) instead of {len(ours)}"
    for position, (mine, stored) in enumerate(zip(ours, theirs, strict=True)):
        keys = tuple(k for k in ("netAmount", "grossAmount") if k in (mine.get("unitPrice") or {}))
        if _line_signature(mine, keys) != _line_signature(stored, keys):
            return f"line {position + 1} differs (name, quantity or unit price)"
    return None


class AmbiguousDraft(LookupError):
    """Lexware has a draft with our reference line that disagrees with the document: neither sent nor re-sent."""


def _attempt_day(row: Any) -> date:
    started: datetime | None = row.sending_started_at
    if started is None:
        return pendulum.now(BERLIN).date() - timedelta(days=1)
    return pendulum.instance(started).in_timezone(BERLIN).date()


def find_invoice_for_row(client: LexofficeClient, row: Any, *, contact_id: str | None) -> dict[str, Any] | None:
    """The draft Lexware created for ``row``, or None when there is none.

    Candidates: drafts created since the day before the attempt (a clock difference around midnight must not
    hide one), of the row's customer when known and with its voucher date; each is read once. Raises
    :class:`AmbiguousDraft` when a draft carries the reference line but disagrees, or when two drafts match.
    """
    created_from = _attempt_day(row) - timedelta(days=1)
    created_to = pendulum.now(BERLIN).date() + timedelta(days=1)
    want_date = str((row.payload or {}).get("voucherDate", ""))[:10]
    reference = reference_line_of(row.payload)
    matches: list[dict[str, Any]] = []
    for item in client.iter_voucherlist(
        voucher_type="invoice", voucher_status="any", contact_id=contact_id,
        created_from=created_from, created_to=created_to,
    ):
        if want_date and str(item.get("voucherDate", ""))[:10] != want_date:
            continue
        invoice = client.get_invoice(item["id"])
        if not carries_reference(invoice, reference):
            continue
        problem = disagreement(invoice, row, contact_id=contact_id)
        if problem:
            raise AmbiguousDraft(f"Lexware draft {invoice.get('id')} carries the reference of {row.source_ref} "
                                 f"but has {problem}")
        matches.append(invoice)
    if len(matches) > 1:
        ids = ", ".join(str(m.get("id")) for m in matches)
        raise AmbiguousDraft(f"{row.source_ref} exists {len(matches)} times in Lexware ({ids})")
    return matches[0] if matches else None


@dataclass(frozen=True)
class BatchVerdict:
    """What ``latest-transaction`` says about an account's unknown batch (in push order)."""

    landed: bool | None  # True: all of it is in Lexware; False: none of it; None: cannot tell
    latest_id: str | None = None
    why: str = ""


def judge_unknown_batch(latest: dict[str, Any] | None, unknown_refs: Sequence[str],
                        last_sent_ref: str | None) -> BatchVerdict:
    """Strict reading of the account's latest transaction against one unknown batch (atomic, pushed in order).

    * latest is the batch's last transaction: the whole batch landed;
    * no transaction at all, or latest is the last one we know we sent: none of it landed;
    * anything else (latest is another of the batch's transactions, or one another writer pushed): we cannot
      tell, so the batch stays unknown and an operator is told; it is never sent again blindly.
    """
    if not unknown_refs:
        return BatchVerdict(landed=False)
    if latest is None:
        return BatchVerdict(landed=False)
    ref = str(latest.get("externalReference") or "")
    if ref == unknown_refs[-1]:
        return BatchVerdict(landed=True, latest_id=str(latest.get("financialTransactionId") or "") or None)
    if last_sent_ref is not None and ref == last_sent_ref:
        return BatchVerdict(landed=False)
    if ref in unknown_refs:
        why = (f"the account's latest transaction is {ref!r}, inside the unknown batch but not its last one "
               "(a partial batch?)")
    else:
        why = (f"the account's latest transaction ({ref or 'without externalReference'}, Lexware id "
               f"{latest.get('financialTransactionId')}) is not one this project pushed last: another writer "
               "(a CSV import, another integration) added transactions")
    return BatchVerdict(landed=None, why=why)
