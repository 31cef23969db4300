"""The bad-input corpus: malformed and hostile source documents, each with what must become of it.

A case writes its own source rows (valid ones through tests/support/sources.py, then the one field it breaks
written verbatim with a plain UPDATE, so wrongly typed values reach the source exactly as a buggy upstream
system would leave them) and names its expectation: refused with a reason code, or delivered with its text
arriving in Lexware byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tests.support import sources as src

DAY = "2026-10-05"
COMPANY, OTHER_COMPANY = "cc", "other"
OK_CUSTOMER = "k-ok"
BANK, OWN, FOREIGN = "bb", "a-own", "a-foreign"
OWN_IBAN, FOREIGN_IBAN = "DE02120300000000202051", "DE12500105170648489890"

SQL_NAME = "Robert'); DROP TABLE outbox; --"
SQL_LINE = "x'; DELETE FROM invoice_drafts WHERE '1'='1"
HTML_NAME = "<script>alert('x')</script> & <b>Söhne</b> KG"
HTML_TITLE = "<i>Rechnung</i>"
EMOJI_NAME = "Café ☕ Ameisenfrei 🐜 GmbH"
EMOJI_LINE = "Köderbox 🪤 (groß) – Nachfüllung"
AMPERSAND_NAME = "Bäckerei Müller & Söhne GmbH"
LONG_NAME = ("Gebäudereinigung und Schädlingsbekämpfung " * 7)[:250].strip() + " GmbH"
LONG_LINE = "L" * 255
SQL_PURPOSE = "'; DROP TABLE outbox; --"
SQL_COUNTERPARTY = "Robert'); DROP TABLE transactions;--"
EMOJI_PURPOSE = "Kaffee ☕ & Kuchen 🍰 <b>fett</b>"


@dataclass(frozen=True)
class Case:
    """One source document: ``code`` is the reason it must be refused with, or None when it must be delivered."""

    key: str
    klass: str
    build: Callable[[sa.Engine, str], None]
    code: str | None = None
    check: Callable[[dict[str, Any]], None] | None = None  # for delivered ones: the Lexware object as stored


def update(engine: sa.Engine, table: str, row_id: str, **values: Any) -> None:
    """Write values verbatim (plain text binds: no type processing between the test and the source)."""
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE id = :row_id"), {**values, "row_id": row_id})


# -- invoice drafts ---------------------------------------------------------------------------------------------

def draft(customer: str | None = OK_CUSTOMER, **kwargs: Any) -> Callable[[sa.Engine, str], None]:
    """A valid draft (of the ordinary customer), changed by ``kwargs`` (see sources.draft)."""
    def build(fs: sa.Engine, key: str) -> None:
        src.draft(fs, key, COMPANY, customer, created=DAY, **kwargs)
    return build


def draft_with(table: str, **values: Any) -> Callable[[sa.Engine, str], None]:
    """A valid draft, then one column of the draft or of its first line overwritten verbatim."""
    def build(fs: sa.Engine, key: str) -> None:
        src.draft(fs, key, COMPANY, OK_CUSTOMER, created=DAY)
        update(fs, table, key if table == "invoice_drafts" else f"{key}-1", **values)
    return build


def draft_without_lines(fs: sa.Engine, key: str) -> None:
    """A draft whose lines were all deleted (sources.draft cannot insert a draft with no lines)."""
    src.draft(fs, key, COMPANY, OK_CUSTOMER, created=DAY)
    with fs.begin() as conn:
        conn.execute(sa.text("DELETE FROM invoice_draft_lines WHERE draft_id = :key"), {"key": key})


def with_customer(name: str = "Kunde GmbH", kind: str = "company", *, email: str | None = None,
                  lines: list[dict[str, Any]] | None = None, title: str | None = "Rechnung",
                  **customer_values: Any) -> Callable[[sa.Engine, str], None]:
    """A draft of its own customer, whose columns ``customer_values`` are overwritten verbatim."""
    def build(fs: sa.Engine, key: str) -> None:
        src.customer(fs, f"k-{key}", COMPANY, name=name, kind=kind, email=email)
        if customer_values:
            update(fs, "customers", f"k-{key}", **customer_values)
        src.draft(fs, key, COMPANY, f"k-{key}", created=DAY, lines=lines, title=title)
    return build


def line(**overrides: Any) -> list[dict[str, Any]]:
    return [{"name": "Schädlingsmonitoring", "quantity": 2, "unit_price": 49.5, "tax_rate": 19, **overrides}]


def _first_line(invoice: dict[str, Any]) -> dict[str, Any]:
    return invoice["lineItems"][0]


def expect_line_name(name: str) -> Callable[[dict[str, Any]], None]:
    def check(stored: dict[str, Any]) -> None:
        assert _first_line(stored["invoice"])["name"] == name, _first_line(stored["invoice"])["name"]
    return check


def expect_contact_name(name: str, *, line_name: str | None = None, title: str | None = None,
                        adopted: bool = False) -> Callable[[dict[str, Any]], None]:
    def check(stored: dict[str, Any]) -> None:
        assert stored["contact"]["company"]["name"] == name, stored["contact"]["company"]["name"]
        if line_name is not None:
            assert _first_line(stored["invoice"])["name"] == line_name
        if title is not None:
            assert stored["invoice"]["title"] == title
        if adopted:
            assert stored["contact"]["id"] == stored["preexisting_contact_id"], "an existing customer was duplicated"
    return check


def delivered(stored: dict[str, Any]) -> None:
    assert stored["invoice"]["voucherStatus"] == "draft"


INVOICE_CASES: list[Case] = [
    # missing fields
    Case("no-customer", "missing fields", draft(customer=None), "CUSTOMER_MISSING"),
    Case("customer-no-name", "missing fields", with_customer(company_name=""), "CUSTOMER_NAME_MISSING"),
    Case("person-no-last-name", "missing fields", with_customer(kind="person", last_name=None),
         "CUSTOMER_NAME_MISSING"),
    Case("customer-no-street", "missing fields", with_customer(street=None), "CUSTOMER_ADDRESS_INCOMPLETE"),
    Case("no-voucher-date", "missing fields", draft_with("invoice_drafts", voucher_date=None), "VOUCHER_DATE_MISSING"),
    Case("no-currency", "missing fields", draft_with("invoice_drafts", currency=None), "CURRENCY_NOT_EUR"),
    Case("no-lines", "missing fields", draft_without_lines, "NO_LINES"),
    Case("line-no-name", "missing fields", draft_with("invoice_draft_lines", name=""), "LINE_NAME_MISSING"),
    Case("line-no-unit", "missing fields", draft_with("invoice_draft_lines", unit_name=None), "LINE_UNIT_MISSING"),
    Case("line-no-tax-rate", "missing fields", draft_with("invoice_draft_lines", tax_rate=None),
         "LINE_TAX_RATE_INVALID"),
    # oversized fields
    Case("title-26", "oversized fields", draft(title="R" * 26), "TITLE_TOO_LONG"),
    Case("introduction-2001", "oversized fields", draft_with("invoice_drafts", introduction="i" * 2001),
         "INTRODUCTION_TOO_LONG"),
    Case("remark-2000", "oversized fields", draft_with("invoice_drafts", remark="r" * 2000), "REMARK_TOO_LONG"),
    Case("salutation-26", "oversized fields", with_customer(salutation="S" * 26), "CUSTOMER_SALUTATION_TOO_LONG"),
    Case("line-name-256", "oversized fields", draft(lines=line(name="N" * 256)), "LINE_NAME_TOO_LONG"),
    Case("line-description-2001", "oversized fields", draft(lines=line(description="d" * 2001)),
         "LINE_DESCRIPTION_TOO_LONG"),
    Case("301-lines", "oversized fields", draft(lines=line() * 301), "TOO_MANY_LINES"),
    Case("price-1e12", "oversized fields", draft(lines=line(unit_price=1e12)), "LINE_PRICE_OUT_OF_RANGE"),
    # wrongly typed fields
    Case("voucher-date-word", "wrongly typed fields", draft_with("invoice_drafts", voucher_date="gestern"),
         "VOUCHER_DATE_INVALID"),
    Case("quantity-word", "wrongly typed fields", draft_with("invoice_draft_lines", quantity="drei"),
         "LINE_QUANTITY_OUT_OF_RANGE"),
    Case("price-word", "wrongly typed fields", draft_with("invoice_draft_lines", unit_price="neunundvierzig"),
         "LINE_PRICE_OUT_OF_RANGE"),
    Case("country-word", "wrongly typed fields", with_customer(country_code="Deutschland"),
         "CUSTOMER_COUNTRY_INVALID"),
    Case("email-no-at", "wrongly typed fields", with_customer(email="rechnung(at)example.de"),
         "CUSTOMER_EMAIL_INVALID"),
    Case("vat-id-short", "wrongly typed fields", with_customer(vat_id="DE12"), "CUSTOMER_VAT_ID_INVALID"),
    # invalid dates
    Case("voucher-date-feb-30", "invalid dates", draft_with("invoice_drafts", voucher_date="2026-02-30"),
         "VOUCHER_DATE_INVALID"),
    Case("service-date-month-13", "invalid dates", draft_with("invoice_drafts", service_date="2026-13-01"),
         "SERVICE_DATE_INVALID"),
    Case("period-without-end", "invalid dates",
         draft_with("invoice_drafts", service_date=None, service_period_start="2026-10-01"),
         "SERVICE_PERIOD_INCOMPLETE"),
    Case("period-reversed", "invalid dates",
         draft_with("invoice_drafts", service_date=None, service_period_start="2026-10-04",
                    service_period_end="2026-10-01"), "SERVICE_PERIOD_END_BEFORE_START"),
    # invalid tax rates
    Case("tax-16-in-2026", "invalid tax rates", draft(lines=line(tax_rate=16)), "LINE_TAX_RATE_INVALID"),
    Case("tax-19-in-reduced-2020", "invalid tax rates",
         draft_with("invoice_drafts", voucher_date="2020-08-14", service_date="2020-08-14"), "LINE_TAX_RATE_INVALID"),
    Case("tax-negative", "invalid tax rates", draft(lines=line(tax_rate=-19)), "LINE_TAX_RATE_INVALID"),
    # non-EUR
    Case("currency-usd", "non-EUR", draft(currency="USD"), "CURRENCY_NOT_EUR"),
    Case("currency-eur-lowercase-typo", "non-EUR", draft(currency="EURO"), "CURRENCY_NOT_EUR"),
    # control characters
    Case("title-bell", "control characters", draft(title="Rechnung\x07"), "TEXT_CONTROL_CHARACTERS"),
    Case("line-name-escape", "control characters", draft(lines=line(name="Köder\x1b[31m")),
         "TEXT_CONTROL_CHARACTERS"),
    Case("customer-name-nul", "control characters", with_customer(name="Kunde\x00 GmbH"),
         "TEXT_CONTROL_CHARACTERS"),
    # negative and zero quantities and prices
    Case("quantity-negative", "negative quantities and prices", draft(lines=line(quantity=-2)),
         "LINE_QUANTITY_OUT_OF_RANGE"),
    Case("quantity-zero", "negative quantities and prices", draft(lines=line(quantity=0)),
         "LINE_QUANTITY_OUT_OF_RANGE"),
    Case("price-negative", "negative quantities and prices", draft(lines=line(unit_price=-49.5)),
         "LINE_PRICE_OUT_OF_RANGE"),
    Case("discount-150", "negative quantities and prices", draft(lines=line(discount_percentage=150)),
         "LINE_DISCOUNT_OUT_OF_RANGE"),
    # too many decimals, wrong price kind
    Case("quantity-5-decimals", "amount precision and kind", draft(lines=line(quantity=1.23456)),
         "LINE_QUANTITY_TOO_PRECISE"),
    Case("price-5-decimals", "amount precision and kind", draft(lines=line(unit_price=49.12345)),
         "LINE_PRICE_TOO_PRECISE"),
    Case("discount-3-decimals", "amount precision and kind", draft(lines=line(discount_percentage=10.125)),
         "LINE_DISCOUNT_TOO_PRECISE"),
    Case("gross-line-on-net-draft", "amount precision and kind", draft(lines=line(price_kind="gross")),
         "LINE_PRICE_KIND_MISMATCH"),
    # hostile but valid: delivered verbatim
    Case("foreign-customer", "hostile references", draft(customer="k-other"), "CUSTOMER_MISSING"),
    Case("sql-in-names", "SQL in names", with_customer(SQL_NAME, lines=line(name=SQL_LINE)),
         check=expect_contact_name(SQL_NAME, line_name=SQL_LINE)),
    Case("html-in-names", "HTML in names", with_customer(HTML_NAME, title=HTML_TITLE),
         check=expect_contact_name(HTML_NAME, title=HTML_TITLE)),
    # Adopted on name AND address (the e-mail differs; a name alone would not do, see test_look_alikes.py).
    Case("ampersand-existing-customer", "& in names", with_customer(AMPERSAND_NAME, email="neu@mueller.example",
                                                                   street="Marktplatz 1"),
         check=expect_contact_name(AMPERSAND_NAME, adopted=True)),
    Case("emoji", "emoji", with_customer(EMOJI_NAME, lines=line(name=EMOJI_LINE)),
         check=expect_contact_name(EMOJI_NAME, line_name=EMOJI_LINE)),
    Case("very-long-names", "very long names", with_customer(LONG_NAME, lines=line(name=LONG_LINE)),
         check=expect_contact_name(LONG_NAME, line_name=LONG_LINE)),
    Case("duplicate-a", "duplicates in the source", draft(title="Doppelt"), check=delivered),
    Case("duplicate-b", "duplicates in the source", draft(title="Doppelt"), check=delivered),
    Case("plain-1", "valid baseline", draft(), check=delivered),
    Case("plain-2", "valid baseline", draft(origin="work_order"), check=delivered),
]


def invoice_world(fs: sa.Engine) -> None:
    """The company, its ordinary customer, and another company's customer (for the foreign reference)."""
    src.company(fs, COMPANY)
    src.customer(fs, OK_CUSTOMER, COMPANY, name="Hotel Rheinblick GmbH")
    src.company(fs, OTHER_COMPANY, name="Fremdfirma GmbH")
    src.customer(fs, "k-other", OTHER_COMPANY, name="Kunde der Fremdfirma GmbH")


# -- transactions ---------------------------------------------------------------------------------------------

def txn(account: str = OWN, **kwargs: Any) -> Callable[[sa.Engine, str], None]:
    """A completed transaction (see sources.transaction), changed by ``kwargs``."""
    def build(bank: sa.Engine, key: str) -> None:
        src.transaction(bank, key, account, completed=DAY, **kwargs)
    return build


def txn_with(**values: Any) -> Callable[[sa.Engine, str], None]:
    """A valid transaction, then columns overwritten verbatim."""
    def build(bank: sa.Engine, key: str) -> None:
        src.transaction(bank, key, OWN, completed=DAY)
        update(bank, "transactions", key, **values)
    return build


def expect_transaction(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def check(stored: dict[str, Any]) -> None:
        for name, value in fields.items():
            assert stored["transaction"].get(name) == value, (name, stored["transaction"].get(name))
    return check


TRANSACTION_CASES: list[Case] = [
    Case("pending-with-time", "not completed", txn(status="pending"), "TXN_NOT_COMPLETED"),
    Case("declined", "not completed", txn(status="declined"), "TXN_NOT_COMPLETED"),
    Case("reversed", "not completed", txn(status="reversed"), "TXN_NOT_COMPLETED"),
    # An account of another bank (multi-banking) is out of scope: windows do not read it (test_poison_rows).
    Case("usd", "non-EUR", txn_with(currency="USD"), "TXN_CURRENCY_NOT_EUR"),
    Case("amount-zero", "zero amounts", txn(amount=0), "TXN_AMOUNT_ZERO"),
    Case("amount-missing", "missing fields", txn_with(amount=None), "TXN_AMOUNT_ZERO"),
    Case("amount-word", "wrongly typed fields", txn_with(amount="zwölf"), "TXN_AMOUNT_INVALID"),
    Case("amount-infinity", "wrongly typed fields", txn_with(amount="Infinity"), "TXN_AMOUNT_INVALID"),
    Case("amount-nan", "wrongly typed fields", txn_with(amount="NaN"), "TXN_AMOUNT_INVALID"),
    Case("amount-beyond-float", "amount precision and kind", txn_with(amount="99999999999999.99"),
         "TXN_AMOUNT_OUT_OF_RANGE"),
    Case("amount-3-decimals", "amount precision and kind", txn(amount=-1.234), "TXN_AMOUNT_TOO_PRECISE"),
    Case("booking-feb-30", "invalid dates", txn_with(booking_date="2026-02-30"), "TXN_DATE_INVALID"),
    Case("value-date-word", "wrongly typed fields", txn_with(value_date="morgen"), "TXN_DATE_INVALID"),
    Case("transfer-without-iban", "missing fields", txn(counterparty_iban=None),
         check=expect_transaction(recipientOrSenderIban=None, amount=-42.5)),
    Case("iban-bad-checksum", "bad IBANs", txn(counterparty_iban="DE89370400440532013001"),
         "TXN_COUNTERPARTY_IBAN_INVALID"),
    Case("iban-too-short", "bad IBANs", txn(counterparty_iban="DE123"), "TXN_COUNTERPARTY_IBAN_INVALID"),
    Case("iban-with-sql", "bad IBANs", txn(counterparty_iban="DE89'; DROP TABLE transactions;--"),
         "TXN_COUNTERPARTY_IBAN_INVALID"),
    Case("purpose-escape-sequence", "control characters", txn_with(purpose="Miete\x1b[2J"),
         check=expect_transaction(purpose="Miete [2J")),
    Case("sql-in-texts", "SQL in names", txn_with(purpose=SQL_PURPOSE, counterparty_name=SQL_COUNTERPARTY),
         check=expect_transaction(purpose=SQL_PURPOSE, recipientOrSenderName=SQL_COUNTERPARTY)),
    Case("emoji-and-html-purpose", "emoji", txn_with(purpose=EMOJI_PURPOSE),
         check=expect_transaction(purpose=EMOJI_PURPOSE)),
    Case("duplicate-1", "duplicates in the source", txn(amount=-19.99), check=expect_transaction(amount=-19.99)),
    Case("duplicate-2", "duplicates in the source", txn(amount=-19.99), check=expect_transaction(amount=-19.99)),
    Case("card-without-iban", "valid baseline", txn(kind="card", counterparty_iban=None),
         check=expect_transaction(amount=-42.5)),
    Case("plain", "valid baseline", txn(amount=1200.0), check=expect_transaction(amount=1200)),
]


def bank_world(bank: sa.Engine) -> None:
    src.bank_customer(bank, BANK)
    src.account(bank, OWN, BANK, OWN_IBAN)
    src.account(bank, FOREIGN, BANK, FOREIGN_IBAN, own=False)
