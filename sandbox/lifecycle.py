"""What the accountant does with a draft in Lexware Office after we sent it: finalize, pay, void, delete.

The real API lets none of this be done through ``/v1`` (there is no PUT or DELETE for invoices), so tests drive
it through ``/_admin`` (``sandbox/routes/lifecycle.py``); the rules live here, apart from HTTP. Each change
bumps ``version`` and ``updatedDate``, as in Lexware, so ``/v1/voucherlist`` and ``GET /v1/invoices/{id}``
show the new status at once.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sandbox.clock import BERLIN, format_lexware
from sandbox.records import Organization

#: action -> (statuses it may start from, status it leaves). Only a draft can be deleted; only a finalized
#: invoice can be paid or voided; paid, paid-off and voided are final.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "finalize": (frozenset({"draft"}), "open"),
    "pay": (frozenset({"open"}), "paid"),
    "pay-off": (frozenset({"open"}), "paidoff"),
    "void": (frozenset({"open"}), "voided"),
}
DELETABLE = frozenset({"draft"})


class LifecycleError(ValueError):
    """The invoice is not in a status this action may start from (Lexware refuses such a change too)."""


def change_status(invoice: dict[str, Any], action: str, org: Organization, now: str,
                  due_date: date | None = None) -> None:
    """Apply ``action`` to the stored invoice in place; finalizing assigns the next voucher number."""
    sources, target = TRANSITIONS[action]
    current = invoice["voucherStatus"]
    if current not in sources:
        raise LifecycleError(f"cannot {action} an invoice in status {current!r} "
                             f"(only from {', '.join(sorted(sources))})")
    if action == "finalize":
        invoice["voucherNumber"] = f"RE{org.next_invoice_number:04d}"
        org.next_invoice_number += 1
        invoice["dueDate"] = _due_date(invoice, due_date)
    invoice["voucherStatus"] = target
    invoice["updatedDate"] = now
    invoice["version"] = int(invoice.get("version", 0)) + 1


def check_deletable(invoice: dict[str, Any]) -> None:
    if invoice["voucherStatus"] not in DELETABLE:
        raise LifecycleError(f"only drafts can be deleted; this invoice is {invoice['voucherStatus']!r} "
                             "(void it instead)")


def open_amount(invoice: dict[str, Any]) -> Any:
    """What is still owed: nothing for a draft (null), the gross for an open invoice, 0 once settled."""
    status = invoice["voucherStatus"]
    if status == "draft":
        return None
    if status in ("paid", "paidoff", "voided"):
        return 0
    return invoice["totalPrice"]["totalGrossAmount"]


def _due_date(invoice: dict[str, Any], due_date: date | None) -> str:
    if due_date is not None:
        return format_lexware(datetime.combine(due_date, time(), BERLIN))
    voucher_date = datetime.fromisoformat(invoice["voucherDate"])
    days = int((invoice.get("paymentConditions") or {}).get("paymentTermDuration") or 0)
    return format_lexware(voucher_date + timedelta(days=days))
