"""Source rows -> Lexware Office request bodies: invoice draft, contact, financial transaction and account.

Inputs are rows of the prepared frames (``lexoffice.source.frames``) as mappings; missing values are NaN,
None or NaT. Builders assume the row passed validation (they do not re-check limits) and never add ids
that only delivery knows: ``address.contactId`` and ``financialAccountId`` are filled in there.

Date formats are exact because Lexware rejects anything else with 406: invoices use
``yyyy-MM-ddTHH:mm:ss.SSSXXX`` and the finance API ``yyyy-MM-ddTHH:mm:ssXXX``, both in Europe/Berlin.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
ACCOUNT_SYSTEM = "lexoffice-airflow"
UNKNOWN_COUNTERPARTY = "Unbekannt"

REFERENCE_PREFIX = "Referenz: "
REFERENCE_SEPARATOR = " \u00b7 "
REFERENCE_MARKER = "lxa:"
ORIGIN_LABELS = {"work_order": "Auftrag", "contract": "Vertrag"}
_ORIGIN_NUMBER_COLUMN = {"work_order": "work_order_number", "contract": "contract_number"}

_WHITESPACE = re.compile(r"\s+")

#: C0 controls and DEL, except tab, line feed and carriage return (line breaks are legitimate in texts).
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_CONTROL = re.compile(CONTROL_CHARACTERS)

Row = Mapping[str, Any]


# --- keys ------------------------------------------------------------------------------------------------

#: Longest source id that is stored and sent as it is. Longer ids are refused by validation
#: (SOURCE_ID_TOO_LONG); their rows are still recorded, under ``key_id``'s fixed-length stand-in, so that
#: the state database's keys (200 characters) never overflow and the report can show the reason.
MAX_SOURCE_ID = 100


def key_id(source_id: str) -> str:
    """A source id as keys hold it: the id itself, or ``#`` and its SHA-256 when it is too long to store."""
    if len(source_id) <= MAX_SOURCE_ID:
        return source_id
    return "#" + hashlib.sha256(source_id.encode("utf-8")).hexdigest()


def invoice_doc_key(draft_id: str) -> str:
    return f"draft:{key_id(draft_id)}"


def transaction_doc_key(transaction_id: str) -> str:
    return f"txn:{key_id(transaction_id)}"


def customer_key(draft: Row) -> str | None:
    customer = text(draft.get("customer_id"))
    return f"customer:{key_id(customer)}" if customer else None


def account_key(account_id: Any) -> str:
    """The group key of a transaction: its source account (not its IBAN: a card account may report the giro's
    IBAN, or none at all)."""
    return f"account:{key_id(str(account_id))}"


# --- value helpers ---------------------------------------------------------------------------------------

def text(value: Any) -> str | None:
    """The text, or None when missing or blank."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    value = str(value)
    return value if value.strip() else None


def multiline(value: Any) -> str | None:
    """Text with line breaks as ``\\n``, the only form Lexware documents."""
    value = text(value)
    return value.replace("\r\n", "\n").replace("\r", "\n") if value is not None else None


def has_control_characters(value: str) -> bool:
    return _CONTROL.search(value) is not None


def printable(value: str | None) -> str | None:
    """Text without control characters (each becomes a space). A bank's purpose or counterparty name is
    copied from the payment as it came; its owner cannot fix it, so it is cleaned and sent, not held."""
    if value is None or not _CONTROL.search(value):
        return value
    return _CONTROL.sub(" ", value)


def compact(value: Any) -> str | None:
    """IBANs and VAT ids as sent: upper case, no spaces."""
    value = text(value)
    return _WHITESPACE.sub("", value).upper() if value is not None else None


def number(value: Any) -> int | float | None:
    """A JSON number: integral values as int (``1`` rather than ``1.0``), as in Lexware's examples."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def as_date(value: Any) -> date | None:
    """A calendar date from a date, a (pandas) timestamp at midnight or an ISO string; None when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, datetime):
        if value != value:  # NaT
            return None
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip()) if value.strip() else None
    if str(value) == "NaT":
        return None
    raise TypeError(f"not a date: {value!r}")


def _berlin(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a timestamp for Lexware must be timezone-aware")
        moment = value.astimezone(BERLIN)
        # A plain datetime (not a pandas Timestamp); ``fold`` keeps the second 02:30 of the night summer
        # time ends at +01:00 instead of repeating the first one's +02:00.
        return datetime(moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
                        moment.microsecond, tzinfo=BERLIN, fold=moment.fold)
    return datetime.combine(value, time(), tzinfo=BERLIN)


def lexware_datetime(value: date | datetime) -> str:
    """``yyyy-MM-ddTHH:mm:ss.SSSXXX`` in Europe/Berlin; a date means midnight there."""
    return _berlin(value).isoformat(timespec="milliseconds")


def finance_datetime(value: date | datetime) -> str:
    """``yyyy-MM-ddTHH:mm:ssXXX`` in Europe/Berlin (the partner finance API has no milliseconds)."""
    return _berlin(value).isoformat(timespec="seconds")


# --- invoices --------------------------------------------------------------------------------------------

def reference_line(draft: Row) -> str:
    """The last line of ``remark``: what a person and reconciliation recognise the draft by.

    ``Referenz: RE-2025-0042 · Auftrag WO-881 · lxa:draft:1234`` (number and origin part when known).
    """
    parts: list[str] = []
    own_number = text(draft.get("number"))
    if own_number:
        parts.append(own_number)
    origin = text(draft.get("origin"))
    if origin in ORIGIN_LABELS:
        origin_number = text(draft.get(_ORIGIN_NUMBER_COLUMN[origin]))
        if origin_number:
            parts.append(f"{ORIGIN_LABELS[origin]} {origin_number}")
    parts.append(REFERENCE_MARKER + invoice_doc_key(draft["id"]))
    return REFERENCE_PREFIX + REFERENCE_SEPARATOR.join(parts)


def remark_with_reference(draft: Row) -> str:
    remark = multiline(draft.get("remark"))
    reference = reference_line(draft)
    return f"{remark}\n{reference}" if remark else reference


def relevant_date(draft: Row, fallback: date) -> date:
    """The date Lexware checks tax rates against (reference §6.7), matching ``shipping_conditions``."""
    start, end = as_date(draft.get("service_period_start")), as_date(draft.get("service_period_end"))
    if start and end:
        return end
    return as_date(draft.get("service_date")) or as_date(draft.get("voucher_date")) or fallback


def shipping_conditions(draft: Row) -> dict[str, str]:
    start, end = as_date(draft.get("service_period_start")), as_date(draft.get("service_period_end"))
    if start and end:
        return {"shippingType": "serviceperiod", "shippingDate": lexware_datetime(start),
                "shippingEndDate": lexware_datetime(end)}
    service = as_date(draft.get("service_date"))
    if service:
        return {"shippingType": "service", "shippingDate": lexware_datetime(service)}
    return {"shippingType": "none"}


def customer_name(draft: Row) -> str | None:
    """Company name for companies, "first last" for persons (Lexware's rule for one-time addresses)."""
    if text(draft.get("customer_kind")) == "company":
        return text(draft.get("customer_company_name"))
    names = [text(draft.get("customer_first_name")), text(draft.get("customer_last_name"))]
    joined = " ".join(n.strip() for n in names if n)
    return joined or None


def address(draft: Row) -> dict[str, str]:
    address = {
        "name": customer_name(draft),
        "street": text(draft.get("customer_street")),
        "city": text(draft.get("customer_city")),
        "zip": text(draft.get("customer_zip")),
        "countryCode": (text(draft.get("customer_country_code")) or "").strip().upper() or None,
    }
    return {k: v for k, v in address.items() if v is not None}


def contact_payload(draft: Row) -> dict[str, Any]:
    """The ``POST /v1/contacts`` body of the draft's customer (role customer, one billing address)."""
    is_company = text(draft.get("customer_kind")) == "company"
    salutation = text(draft.get("customer_salutation"))
    first_name = text(draft.get("customer_first_name"))
    last_name = text(draft.get("customer_last_name"))
    email = (text(draft.get("customer_email")) or "").strip() or None
    body: dict[str, Any] = {"version": 0, "roles": {"customer": {}}}
    if is_company:
        company: dict[str, Any] = {"name": text(draft.get("customer_company_name"))}
        vat_id = compact(draft.get("customer_vat_id"))
        if vat_id:
            company["vatRegistrationId"] = vat_id
        if last_name:
            person = {"salutation": salutation, "firstName": first_name, "lastName": last_name, "primary": True,
                      "emailAddress": email}
            company["contactPersons"] = [{k: v for k, v in person.items() if v is not None}]
        body["company"] = company
    else:
        person = {"salutation": salutation, "firstName": first_name, "lastName": last_name}
        body["person"] = {k: v for k, v in person.items() if v is not None}
    billing = {k: v for k, v in address(draft).items() if k != "name"}
    body["addresses"] = {"billing": [billing]}
    if email:
        body["emailAddresses"] = {("business" if is_company else "private"): [email]}
    return body


def invoice_related(draft: Row) -> dict[str, Any]:
    """What delivery needs to resolve or create the customer's contact before posting the invoice."""
    email = (text(draft.get("customer_email")) or "").strip() or None
    return {
        "customer_key": customer_key(draft),
        "lookup": {"email": email, "name": customer_name(draft)},
        "contact": contact_payload(draft),
    }


def invoice_source_ref(draft: Row) -> str:
    """What a person recognises: ``RE-2025-0042 (work_order WO-881)``."""
    label = text(draft.get("number")) or f"draft {draft['id']}"
    origin = text(draft.get("origin")) or "manual"
    origin_number = text(draft.get(_ORIGIN_NUMBER_COLUMN[origin])) if origin in _ORIGIN_NUMBER_COLUMN else None
    return f"{label} ({origin} {origin_number})" if origin_number else f"{label} ({origin})"


# --- transactions ----------------------------------------------------------------------------------------

def account_payload(txn: Row) -> dict[str, Any]:
    """The financial account a transaction belongs to, as delivery creates it if Lexware lacks it."""
    iban = compact(txn.get("account_iban"))
    body = {
        "type": "CREDITCARD" if text(txn.get("account_kind")) == "card" else "GIRO",
        "accountSystem": ACCOUNT_SYSTEM,
        "name": text(txn.get("account_name")) or iban or f"Konto {txn['account_id']}",
        "bankName": text(txn.get("account_bank_name")),
        "iban": iban,
        "externalReference": str(txn["account_id"]),
    }
    return {k: v for k, v in body.items() if v is not None}


def transaction_related(txn: Row) -> dict[str, Any]:
    """What delivery needs to resolve the financial account: the source account (its identity), its IBAN, and
    the body that creates it."""
    return {"iban": compact(txn.get("account_iban")), "account_id": str(txn["account_id"]),
            "account": account_payload(txn)}
