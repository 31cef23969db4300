"""The deliberately broken rows of the demo data, each with the one reason code it must trigger.

The generator breaks a small, seeded share of rows, cycling through these lists, and returns which
codes each document should get; tests compare that with what validation reports. Every defect is a
mistake a real source system lets through: a typo, a copy-and-paste accident, a missing field.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

Row = dict[str, Any]


@dataclass(frozen=True)
class Defect:
    code: str
    note: str
    apply: Callable[..., None] = field(repr=False)


def _set(**values: Any) -> Callable[..., None]:
    def apply(row: Row, *_: Any) -> None:
        row.update(values)
    return apply


# --- customers: every draft of the customer inherits the reason ------------------------------------------

def _drop_name(customer: Row, *_: Any) -> None:
    customer["company_name" if customer["kind"] == "company" else "last_name"] = None


CUSTOMER_DEFECTS = (
    Defect("CUSTOMER_EMAIL_INVALID", "e-mail typed with '(at)' instead of '@'",
           lambda c, *_: c.update(email=(c["email"] or "info@example.de").replace("@", "(at)"))),
    Defect("CUSTOMER_COUNTRY_INVALID", "country typed as a word instead of the ISO code",
           _set(country_code="Deutschland")),
    Defect("CUSTOMER_ADDRESS_INCOMPLETE", "postcode never entered", _set(zip=None)),
    Defect("CUSTOMER_VAT_ID_INVALID", "VAT id with one digit missing", _set(vat_id="DE12345678")),
    Defect("CUSTOMER_NAME_MISSING", "company name or last name left empty", _drop_name),
)


# --- drafts: applied before the lines are generated, so tax rates follow the (broken) dates --------------

def _voucher_missing(draft: Row, *_: Any) -> None:
    draft["service_date"] = draft["service_date"] or draft["voucher_date"]  # keeps the tax date known
    draft["voucher_date"] = None


def _period_reversed(draft: Row, *_: Any) -> None:
    start = draft["service_period_start"] or draft["voucher_date"]
    draft.update(service_date=None, service_period_start=start, service_period_end=start - timedelta(days=3))


def _period_open(draft: Row, *_: Any) -> None:
    start = draft["service_period_start"] or draft["voucher_date"]
    draft.update(service_date=None, service_period_start=start, service_period_end=None)


def _remark_too_long(draft: Row, *_: Any) -> None:
    # 1990 characters fit Lexware's 2000, but not with the reference line we append.
    draft["remark"] = ("Bitte beachten Sie unsere Hinweise zur Köderstation. " * 40)[:1990]


DRAFT_DEFECTS = (
    Defect("TITLE_TOO_LONG", "title longer than Lexware's 25 characters",
           _set(title="Rechnung Schädlingsbekämpfung Quartal 3")),
    Defect("CURRENCY_NOT_EUR", "draft issued in Swiss francs", _set(currency="CHF")),
    Defect("VOUCHER_DATE_MISSING", "invoice date never set", _voucher_missing),
    Defect("SERVICE_PERIOD_END_BEFORE_START", "service period start and end swapped", _period_reversed),
    Defect("SERVICE_PERIOD_INCOMPLETE", "service period without end", _period_open),
    Defect("TEXT_CONTROL_CHARACTERS", "form feed pasted into the introduction",
           _set(introduction="Vielen Dank für Ihren Auftrag.\x0cWir berechnen:")),
    Defect("INTRODUCTION_TOO_LONG", "introduction pasted from a 2,100-character letter",
           _set(introduction=("Sehr geehrte Damen und Herren, " * 70)[:2100])),
    Defect("REMARK_TOO_LONG", "remark of 1,990 characters: no room for the reference line", _remark_too_long),
    Defect("CUSTOMER_MISSING", "manual draft saved without a customer", _set(customer_id=None)),
)

@dataclass(frozen=True)
class LineCountDefect:
    """A draft whose number of lines is the mistake."""

    code: str
    note: str
    line_count: int


NO_LINES = LineCountDefect("NO_LINES", "draft saved before any line was added", 0)
# A year of weekly visits on one invoice; generated at most once per company (it is 301 rows).
TOO_MANY_LINES = LineCountDefect("TOO_MANY_LINES", "301 lines, more than Lexware's 300", 301)
LINE_COUNT_DEFECTS = (NO_LINES, TOO_MANY_LINES)


# --- lines: applied to one custom line of a draft ---------------------------------------------------------

def _wrong_rate(line: Row, reduced_period: bool) -> None:
    line["tax_rate"] = 19.0 if reduced_period else 16.0  # the rate of the other period


def _other_price_kind(line: Row, *_: Any) -> None:
    line["price_kind"] = "gross" if line["price_kind"] == "net" else "net"


LINE_DEFECTS = (
    Defect("LINE_TAX_RATE_INVALID", "tax rate of the wrong period (16 % outside 2020-H2, 19 % inside)", _wrong_rate),
    Defect("LINE_QUANTITY_OUT_OF_RANGE", "quantity 0", _set(quantity=0.0)),
    Defect("LINE_QUANTITY_TOO_PRECISE", "quantity with 5 decimals", _set(quantity=1.23456)),
    Defect("LINE_PRICE_OUT_OF_RANGE", "negative unit price used as a refund", _set(unit_price=-12.5)),
    Defect("LINE_PRICE_TOO_PRECISE", "unit price with 5 decimals", _set(unit_price=12.34567)),
    Defect("LINE_DISCOUNT_OUT_OF_RANGE", "discount of 120 %", _set(discount_percentage=120.0)),
    Defect("LINE_DISCOUNT_TOO_PRECISE", "discount with 3 decimals", _set(discount_percentage=2.555)),
    Defect("LINE_UNIT_MISSING", "unit left empty", _set(unit_name=None)),
    Defect("LINE_PRICE_KIND_MISMATCH", "gross price on a net invoice (or the reverse)", _other_price_kind),
    Defect("LINE_NAME_TOO_LONG", "whole description pasted into the name",
           lambda line, *_: line.update(name=(line["name"] + " – " + "Ausführliche Beschreibung. " * 12)[:300])),
    Defect("LINE_DESCRIPTION_TOO_LONG", "description of 2,100 characters",
           _set(description=("Leistungsbeschreibung gemäß Angebot. " * 60)[:2100])),
    Defect("LINE_NAME_MISSING", "name left empty", _set(name=None)),
)


# --- transactions -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TransactionDefect(Defect):
    needs_transfer: bool = False


def _iban_typo(txn: Row, rng: random.Random) -> None:
    iban = txn["counterparty_iban"]
    position = rng.randrange(4, len(iban))
    digit = str((int(iban[position]) + 1 + rng.randrange(8)) % 10)
    txn["counterparty_iban"] = iban[:position] + digit + iban[position + 1:]


TRANSACTION_DEFECTS = (
    TransactionDefect("TXN_AMOUNT_ZERO", "zero-amount authorisation check booked as a transaction", _set(amount=0.0)),
    TransactionDefect("TXN_AMOUNT_TOO_PRECISE", "amount with a third decimal from a currency conversion",
                      _set(amount=-12.345)),
    TransactionDefect("TXN_CURRENCY_NOT_EUR", "foreign-currency booking", _set(currency="USD")),
    TransactionDefect("TXN_COUNTERPARTY_IBAN_INVALID", "IBAN with one digit mistyped (check digits fail)",
                      _iban_typo, needs_transfer=True),
    TransactionDefect("TXN_AMOUNT_INVALID", "amount 'Infinity' from a broken export", _set(amount=float("inf"))),
    TransactionDefect("TXN_AMOUNT_OUT_OF_RANGE", "amount in cents written as euros, a trillion",
                      _set(amount=-1e12)),
    TransactionDefect("TXN_PURPOSE_TOO_LONG", "purpose repeated over and over by a broken import",
                      _set(purpose="Zahlung " * 300)),
    TransactionDefect("TXN_DATE_INVALID", "booking date missing", _set(booking_date=None)),
)
