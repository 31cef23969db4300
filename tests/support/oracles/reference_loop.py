"""The same rules as ``invoices`` and ``transactions``, written as a plain loop over rows.

Not used by the pipeline. It is the benchmark's baseline (how fast would the obvious code be?) and a
cross-check: tests require both implementations to report identical reasons on generated data. Where it
can, it judges values by a different method (``Decimal`` for decimal places, big integers for IBAN
check digits) so that agreement means something.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from lexoffice import payloads
from lexoffice.source.frames import prepare_drafts, prepare_lines, prepare_transactions
from lexoffice.source.timestamps import require_aware
from lexoffice.validation import reasons as r
from lexoffice.validation.checks import (
    CONTROL_CHARACTERS, EMAIL, IBAN, INVISIBLE, LEXWARE_SOFTWARE, VAT_ID, shown_number,
)
from lexoffice.validation.countries import ISO_3166_ALPHA2
from lexoffice.validation.findings import Finding, assemble
from lexoffice.validation.invoices import (
    COMPANY_ADDRESS, CUSTOMER_ADDRESS, CUSTOMER_LIMITS, CUSTOMER_TEXTS, DRAFT_TEXTS, LINE_TEXTS, MAX_LINE_NAME,
    MAX_LINES, MAX_QUANTITY, MAX_SALUTATION, MAX_TEXT, MAX_TITLE, MAX_UNIT_PRICE, SERVICE_DATES, today_in_berlin,
)
from lexoffice.validation.invoices import IDS as DRAFT_IDS
from lexoffice.validation.invoices import STAMPS as DRAFT_STAMPS
from lexoffice.validation.reasons import RANK, Label, Labels, ReasonSpec, line_field
from lexoffice.validation.tax import allowed_tax_rates
from lexoffice.validation.transactions import IDS as TXN_IDS
from lexoffice.validation.transactions import MAX_AMOUNT, MAX_PURPOSE, STAMPS

_CONTROL = re.compile(CONTROL_CHARACTERS)
_INVISIBLE = re.compile(INVISIBLE)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _given(value: Any) -> bool:
    return not _missing(value) and _INVISIBLE.sub("", str(value)).strip() != ""


def _length(value: Any) -> int:
    return 0 if _missing(value) else len(str(value))


def decimal_places(value: float) -> int:
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def _decimal(text: Any) -> Decimal | None:
    """The number a source text holds, NaN and Infinity included; None when missing or no number at all."""
    if not _given(text):
        return None
    try:
        return Decimal(str(text).strip())
    except InvalidOperation:
        return None


def _places(text: Any) -> int:
    """Decimal places of the source's own digits (0 when missing or no finite number)."""
    number = _decimal(text)
    if number is None or not number.is_finite():
        return 0
    return max(0, -int(number.normalize().as_tuple().exponent))


def _date(value: Any) -> date | None:
    return None if _missing(value) else pd.Timestamp(value).date()


def _compact(value: Any) -> str:
    return re.sub(r"\s+", "", str(value)).upper()


def iban_is_valid(value: Any) -> bool:
    iban = _compact(value)
    if not re.fullmatch(IBAN, iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


class _Report:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, doc: int, spec: ReasonSpec, *, position: int = -1, field: str | None = None,
            field_order: int = 0, **params: Any) -> None:
        if position >= 0:
            params["position"] = position
        self.findings.append(Finding(doc, RANK[spec.code], position, field_order, spec(field=field, **params)))


def validate_invoices_loop(drafts: pd.DataFrame, lines: pd.DataFrame, *, on_date: date | None = None) -> pd.DataFrame:
    """Same contract as ``validate_invoices``; one Python iteration per draft and per line."""
    drafts = prepare_drafts(drafts)
    lines = prepare_lines(lines)
    fallback = on_date or today_in_berlin()
    lines_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines.to_dict("records"):
        lines_of[line["draft_id"]].append(line)
    report = _Report()
    for doc, draft in enumerate(drafts.to_dict("records")):
        _check_draft(doc, draft, lines_of.get(draft["id"], []), fallback, report)
    return assemble(drafts["id"].tolist(), report.findings)


def _check_draft(doc: int, d: dict[str, Any], lines: list[dict[str, Any]], fallback: date, report: _Report) -> None:
    add = lambda spec, **kw: report.add(doc, spec, **kw)  # noqa: E731 - keeps the rules readable

    for order, (column, field) in enumerate(DRAFT_IDS):
        if _length(d[column]) > payloads.MAX_SOURCE_ID:
            add(r.SOURCE_ID_TOO_LONG, field=field, field_order=order, value=d[column], length=_length(d[column]),
                limit=payloads.MAX_SOURCE_ID)
    for order, (column, key) in enumerate(DRAFT_STAMPS):
        if _given(d[f"{column}_unparsed"]):
            add(r.SOURCE_TIMESTAMP_INVALID, field=column, field_order=order, which=Label(key),
                value=d[f"{column}_unparsed"])
    if not _given(d["company_name"]):
        add(r.COMPANY_NAME_MISSING)
    missing = tuple(key for column, key in COMPANY_ADDRESS if not _given(d[column]))
    if missing:
        add(r.COMPANY_ADDRESS_INCOMPLETE, missing=Labels(missing))
    if not _given(d["company_tax_number"]) and not _given(d["company_vat_id"]):
        add(r.COMPANY_TAX_ID_MISSING)
    if _given(d["company_vat_id"]) and not re.fullmatch(VAT_ID, _compact(d["company_vat_id"])):
        add(r.COMPANY_VAT_ID_INVALID, value=d["company_vat_id"])
    if not d["company_accounting_licensed"]:
        add(r.ACCOUNTING_NOT_LICENSED)
    software = d["company_accounting_software"]
    if _missing(software) or software.strip().lower() not in LEXWARE_SOFTWARE:
        add(r.ACCOUNTING_SOFTWARE_NOT_LEXOFFICE, value=software)

    found = _given(d["customer_found_id"])
    if not found:
        add(r.CUSTOMER_MISSING)
    else:
        if d["customer_kind"] == "company":
            if not _given(d["customer_company_name"]):
                add(r.CUSTOMER_NAME_MISSING, field="customer.company_name")
        elif not _given(d["customer_last_name"]):
            add(r.CUSTOMER_NAME_MISSING, field="customer.last_name")
        if _length(d["customer_salutation"]) > MAX_SALUTATION:
            add(r.CUSTOMER_SALUTATION_TOO_LONG, length=_length(d["customer_salutation"]))
        missing = tuple(key for column, key in CUSTOMER_ADDRESS if not _given(d[column]))
        if missing:
            add(r.CUSTOMER_ADDRESS_INCOMPLETE, missing=Labels(missing))
        country = d["customer_country_code"]
        if _missing(country) or country.strip().upper() not in ISO_3166_ALPHA2:
            add(r.CUSTOMER_COUNTRY_INVALID, value=country)
        email = d["customer_email"]
        if _given(email) and not re.fullmatch(EMAIL, email.strip()):
            add(r.CUSTOMER_EMAIL_INVALID, value=email)
        if _given(d["customer_vat_id"]) and not re.fullmatch(VAT_ID, _compact(d["customer_vat_id"])):
            add(r.CUSTOMER_VAT_ID_INVALID, value=d["customer_vat_id"])
        for order, (column, field, key, limit) in enumerate(CUSTOMER_LIMITS):
            if _length(d[column]) > limit:
                add(r.CUSTOMER_FIELD_TOO_LONG, field=field, field_order=order, which=Label(key),
                    length=_length(d[column]), limit=limit)

    if not _given(d["voucher_date_text"]):
        add(r.VOUCHER_DATE_MISSING)
    elif _missing(d["voucher_date"]):
        add(r.VOUCHER_DATE_INVALID, value=d["voucher_date_text"])
    for order, column in enumerate(SERVICE_DATES):
        if _given(d[f"{column}_text"]) and _missing(d[column]):
            add(r.SERVICE_DATE_INVALID, field=column, field_order=order, value=d[f"{column}_text"])
    start_given, end_given = _given(d["service_period_start_text"]), _given(d["service_period_end_text"])
    if start_given != end_given:
        add(r.SERVICE_PERIOD_INCOMPLETE, field="service_period_end" if start_given else "service_period_start")
    start, end = _date(d["service_period_start"]), _date(d["service_period_end"])
    if start and end and end < start:
        add(r.SERVICE_PERIOD_END_BEFORE_START, start=start, end=end)
    if _missing(d["currency"]) or d["currency"].strip().upper() != "EUR":
        add(r.CURRENCY_NOT_EUR, value=d["currency"])
    if _length(d["title"]) > MAX_TITLE:
        add(r.TITLE_TOO_LONG, length=_length(d["title"]))
    if _length(d["introduction"]) > MAX_TEXT:
        add(r.INTRODUCTION_TOO_LONG, length=_length(d["introduction"]))
    reference = len(payloads.reference_line(d))
    if _given(d["remark"]) and reference <= MAX_TEXT:
        limit = MAX_TEXT - 1 - reference
        if _length(d["remark"]) > limit:
            add(r.REMARK_TOO_LONG, length=_length(d["remark"]), limit=limit)
    if reference > MAX_TEXT:
        add(r.REFERENCE_LINE_TOO_LONG, length=reference)
    texts = [(column, field, key, True) for column, field, key in DRAFT_TEXTS]
    texts += [(column, field, key, found) for column, field, key in CUSTOMER_TEXTS]
    for order, (column, field, key, applies) in enumerate(texts):
        if applies and not _missing(d[column]) and _CONTROL.search(d[column]):
            add(r.TEXT_CONTROL_CHARACTERS, field=field, field_order=order, where=Label(key))

    if not lines:
        add(r.NO_LINES)
    if len(lines) > MAX_LINES:
        add(r.TOO_MANY_LINES, count=len(lines))
    relevant = payloads.relevant_date(d, fallback)
    for line in lines:
        _check_line(d, line, relevant, add)


def _check_line(d: dict[str, Any], line: dict[str, Any], relevant: date, add: Any) -> None:
    p = int(line["position"])
    if not _given(line["name"]):
        add(r.LINE_NAME_MISSING, position=p, field=line_field("name", p))
    if _length(line["name"]) > MAX_LINE_NAME:
        add(r.LINE_NAME_TOO_LONG, position=p, field=line_field("name", p), length=_length(line["name"]))
    if _length(line["description"]) > MAX_TEXT:
        add(r.LINE_DESCRIPTION_TOO_LONG, position=p, field=line_field("description", p),
            length=_length(line["description"]))
    for order, (column, key) in enumerate(LINE_TEXTS, start=len(DRAFT_TEXTS) + len(CUSTOMER_TEXTS)):
        if not _missing(line[column]) and _CONTROL.search(line[column]):
            add(r.TEXT_CONTROL_CHARACTERS, position=p, field=line_field(column, p), field_order=order,
                where=Label(key, p))
    if line["type"] != "custom":
        return
    if not _given(line["unit_name"]):
        add(r.LINE_UNIT_MISSING, position=p, field=line_field("unit_name", p))
    quantity = line["quantity"]
    if _missing(quantity) or not 0 < quantity < MAX_QUANTITY:
        add(r.LINE_QUANTITY_OUT_OF_RANGE, position=p, field=line_field("quantity", p), value=quantity)
    if _places(line["quantity_text"]) > 4:
        add(r.LINE_QUANTITY_TOO_PRECISE, position=p, field=line_field("quantity", p), value=quantity)
    price = line["unit_price"]
    if _missing(price) or not 0 <= price <= MAX_UNIT_PRICE:
        add(r.LINE_PRICE_OUT_OF_RANGE, position=p, field=line_field("unit_price", p), value=price)
    if _places(line["unit_price_text"]) > 4:
        add(r.LINE_PRICE_TOO_PRECISE, position=p, field=line_field("unit_price", p), value=price)
    if _given(line["price_kind"]) and line["price_kind"] != d["tax_type"]:
        add(r.LINE_PRICE_KIND_MISMATCH, position=p, field=line_field("price_kind", p),
            price_kind=Label(str(line["price_kind"])), tax_type=Label(str(d["tax_type"])))
    allowed = allowed_tax_rates(relevant)
    if _missing(line["tax_rate"]) or line["tax_rate"] not in allowed:
        add(r.LINE_TAX_RATE_INVALID, position=p, field=line_field("tax_rate", p), value=line["tax_rate"],
            date=relevant, allowed=allowed)
    discount = line["discount_percentage"]
    number = _decimal(line["discount_percentage_text"])
    if _given(line["discount_percentage_text"]) and (number is None or not number.is_finite()):
        add(r.LINE_DISCOUNT_OUT_OF_RANGE, position=p, field=line_field("discount_percentage", p),
            value=shown_number(line["discount_percentage_text"]))
    elif not _missing(discount) and not 0 <= discount <= 100:
        add(r.LINE_DISCOUNT_OUT_OF_RANGE, position=p, field=line_field("discount_percentage", p), value=discount)
    if number is not None and number.is_finite() and _places(line["discount_percentage_text"]) > 2:
        add(r.LINE_DISCOUNT_TOO_PRECISE, position=p, field=line_field("discount_percentage", p), value=discount)


def validate_transactions_loop(transactions: pd.DataFrame, *, export_since: datetime | None = None) -> pd.DataFrame:
    """Same contract as ``validate_transactions``; one Python iteration per transaction."""
    require_aware("export_since", export_since)
    frame = prepare_transactions(transactions)
    report = _Report()
    for doc, t in enumerate(frame.to_dict("records")):
        add = lambda spec, **kw: report.add(doc, spec, **kw)  # noqa: E731
        for order, (column, field) in enumerate(TXN_IDS):
            if _length(t[column]) > payloads.MAX_SOURCE_ID:
                add(r.SOURCE_ID_TOO_LONG, field=field, field_order=order, value=t[column],
                    length=_length(t[column]), limit=payloads.MAX_SOURCE_ID)
        unparsed = {column: _given(t[f"{column}_unparsed"]) for column, _ in STAMPS}
        for order, (column, key) in enumerate(STAMPS):
            if unparsed[column]:
                add(r.SOURCE_TIMESTAMP_INVALID, field=column, field_order=order, which=Label(key),
                    value=t[f"{column}_unparsed"])
        completed = t["status"] == "completed" and not _missing(t["completed_at"])
        if not completed and not unparsed["completed_at"]:
            status = t["status"]
            add(r.TXN_NOT_COMPLETED, status=Label(status) if isinstance(status, str) else status)
        if export_since is not None and not _missing(t["completed_at"]) and t["completed_at"] < export_since:
            add(r.TXN_BEFORE_EXPORT_SINCE, completed_at=t["completed_at"], export_since=export_since)
        if not t["account_is_own"]:
            add(r.TXN_ACCOUNT_NOT_OWN)
        if _missing(t["account_currency"]) or t["account_currency"].strip().upper() != "EUR":
            add(r.TXN_ACCOUNT_CURRENCY_NOT_EUR, value=t["account_currency"])
        if not _given(t["account_iban"]):
            if t["account_kind"] != "card":
                add(r.TXN_ACCOUNT_IBAN_MISSING)
        elif not iban_is_valid(t["account_iban"]):
            add(r.TXN_ACCOUNT_IBAN_INVALID, value=t["account_iban"])
        if _missing(t["currency"]) or t["currency"].strip().upper() != "EUR":
            add(r.TXN_CURRENCY_NOT_EUR, value=t["currency"])
        amount_text = t["amount_text"]
        number = _decimal(amount_text)
        if _given(amount_text) and (number is None or not number.is_finite()):
            add(r.TXN_AMOUNT_INVALID, value=shown_number(amount_text))
        else:
            if number is None or number == 0:
                add(r.TXN_AMOUNT_ZERO, value=t["amount"])
            elif abs(number) > Decimal(str(MAX_AMOUNT)):
                add(r.TXN_AMOUNT_OUT_OF_RANGE, value=t["amount"], limit=MAX_AMOUNT)
            if _places(amount_text) > 2:
                add(r.TXN_AMOUNT_TOO_PRECISE, value=amount_text)
        if _missing(t["booking_date"]):
            add(r.TXN_DATE_INVALID, field="booking_date", which=Label("booking_date"),
                value=t["booking_date_text"])
        if _given(t["value_date_text"]) and _missing(t["value_date"]):
            add(r.TXN_DATE_INVALID, field="value_date", field_order=1, which=Label("value_date"),
                value=t["value_date_text"])
        iban = t["counterparty_iban"]
        if _given(iban) and not iban_is_valid(iban):
            add(r.TXN_COUNTERPARTY_IBAN_INVALID, value=iban)
        if _length(t["purpose"]) > MAX_PURPOSE:
            add(r.TXN_PURPOSE_TOO_LONG, length=_length(t["purpose"]), limit=MAX_PURPOSE)
    return assemble(frame["id"].tolist(), report.findings)
