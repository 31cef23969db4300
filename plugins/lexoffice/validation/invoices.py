"""Vectorised validation of invoice drafts: every rule is a boolean mask over all drafts or all lines.

Rules that concern a line are evaluated over the lines frame and reported against the draft the line
belongs to, naming the line by its position. A draft keeps every reason it has, and one bad draft never
affects another. Decisions (documented in docs/sources.md):

* unit prices must lie in 0..10,000,000: refunds belong on a credit note, not a negative line;
* quantities must lie strictly between 0 and 1,000,000;
* the remark limit leaves room for the reference line appended by ``payloads.remark_with_reference``; a
  reference line that alone exceeds the remark limit (huge draft or order numbers) is its own reason;
* customer fields Lexware documents no limit for get ours (``CUSTOMER_LIMITS``), so that Lexware's 406 is
  the exception, not the validator;
* names made only of invisible characters (zero-width space, BOM, …) count as missing (``checks.present``);
* numbers are judged on the source's own digits (``<column>_text``): a discount 'NaN' is refused, not sent
  as 0 %, and decimal places are counted on the text;
* a line without ``price_kind`` takes the draft's tax type; text lines carry no amounts and skip the
  amount rules.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from lexoffice import payloads
from lexoffice.source.frames import prepare_drafts, prepare_lines
from lexoffice.validation import checks
from lexoffice.validation import reasons as r
from lexoffice.validation.findings import Collector, assemble
from lexoffice.validation.reasons import Label, Labels, line_field
from lexoffice.validation.source_rules import add_source_rules
from lexoffice.validation.tax import REDUCED_FROM, REDUCED_RATES, REDUCED_UNTIL, STANDARD_RATES

MAX_LINES = 300
MAX_TITLE = 25
MAX_TEXT = 2000
MAX_LINE_NAME = 255
MAX_SALUTATION = 25
MAX_QUANTITY = 1_000_000
MAX_UNIT_PRICE = 10_000_000

#: Address parts that must be present, by frame column and label key.
COMPANY_ADDRESS = (("company_street", "street"), ("company_zip", "zip"), ("company_city", "city"),
                   ("company_country_code", "country_code"))
CUSTOMER_ADDRESS = (("customer_street", "street"), ("customer_zip", "zip"), ("customer_city", "city"))

#: Texts checked for control characters, in reporting order: (frame column, reported field, label key).
DRAFT_TEXTS = (
    ("number", "number", "number"),
    ("work_order_number", "work_order_number", "work_order_number"),
    ("contract_number", "contract_number", "contract_number"),
    ("title", "title", "title"),
    ("introduction", "introduction", "introduction"),
    ("remark", "remark", "remark"),
)
CUSTOMER_TEXTS = (
    ("customer_company_name", "customer.company_name", "customer.company_name"),
    ("customer_salutation", "customer.salutation", "customer.salutation"),
    ("customer_first_name", "customer.first_name", "customer.first_name"),
    ("customer_last_name", "customer.last_name", "customer.last_name"),
    ("customer_street", "customer.street", "customer.street"),
    ("customer_zip", "customer.zip", "customer.zip"),
    ("customer_city", "customer.city", "customer.city"),
)
LINE_TEXTS = (("name", "line.name"), ("description", "line.description"), ("unit_name", "line.unit_name"))

SERVICE_DATES = ("service_date", "service_period_start", "service_period_end")

#: Customer fields without a documented Lexware limit: (frame column, reported field, label key, limit). E-mail:
#: the longest address SMTP can carry (RFC 5321); street and city: 255, Lexware's limit for its other short
#: texts (line names, delivery terms); postcode: 20, twice the longest postcode format in use.
CUSTOMER_LIMITS = (
    ("customer_street", "customer.street", "customer.street", 255),
    ("customer_zip", "customer.zip", "customer.zip", 20),
    ("customer_city", "customer.city", "customer.city", 255),
    ("customer_email", "customer.email", "customer.email", 254),
)

#: Draft timestamps checked for values that are no time: (column, label key).
STAMPS = (("created_at", "created_at"), ("updated_at", "updated_at"))

#: Source ids that become keys and references: (column, reported field).
IDS = (("id", "id"), ("customer_id", "customer_id"))

_REFERENCE_FIXED = len(payloads.REFERENCE_PREFIX) + len(payloads.REFERENCE_MARKER) + len(
    payloads.invoice_doc_key(""))


def today_in_berlin() -> date:
    return pd.Timestamp.now(tz=ZoneInfo("Europe/Berlin")).date()


def validate_invoices(drafts: pd.DataFrame, lines: pd.DataFrame, *, on_date: date | None = None) -> pd.DataFrame:
    """Reasons per draft: a frame indexed by draft id with column ``reasons`` (list of ``Reason``).

    ``on_date`` stands in for the relevant date of drafts that have no usable date at all (they are
    invalid anyway, but their tax rates are still judged); it defaults to today in Europe/Berlin.
    """
    d = prepare_drafts(drafts)
    lines = prepare_lines(lines)
    fallback = on_date or today_in_berlin()
    out = Collector()
    add_source_rules(d, out, ids=IDS, stamps=STAMPS)
    _company_rules(d, out)
    _customer_rules(d, out)
    relevant = _draft_rules(d, out, fallback)
    _line_rules(d, lines, relevant, out)
    return assemble(d["id"].tolist(), out.findings)


def _value(series: pd.Series) -> Any:
    """Accessor for message parameters, read for violating rows only."""
    return lambda row: series.iat[row]


def _company_rules(d: pd.DataFrame, out: Collector) -> None:
    out.add(r.COMPANY_NAME_MISSING, ~checks.present(d["company_name"]))
    missing = {key: ~checks.present(d[column]) for column, key in COMPANY_ADDRESS}
    out.add(r.COMPANY_ADDRESS_INCOMPLETE, np.logical_or.reduce(list(missing.values())),
            params=lambda row: {"missing": Labels(tuple(k for k, m in missing.items() if m[row]))})
    has_vat = checks.present(d["company_vat_id"])
    out.add(r.COMPANY_TAX_ID_MISSING, ~checks.present(d["company_tax_number"]) & ~has_vat)
    vat = _value(d["company_vat_id"])
    out.add(r.COMPANY_VAT_ID_INVALID, has_vat & ~checks.valid_vat_id(d["company_vat_id"]),
            params=lambda row: {"value": vat(row)})
    out.add(r.ACCOUNTING_NOT_LICENSED, ~d["company_accounting_licensed"].to_numpy(dtype=bool))
    software = d["company_accounting_software"].str.strip().str.lower()
    chosen = _value(d["company_accounting_software"])
    out.add(r.ACCOUNTING_SOFTWARE_NOT_LEXOFFICE, ~software.isin(checks.LEXWARE_SOFTWARE).to_numpy(dtype=bool),
            params=lambda row: {"value": chosen(row)})


def _customer_rules(d: pd.DataFrame, out: Collector) -> None:
    found = checks.present(d["customer_found_id"])
    out.add(r.CUSTOMER_MISSING, ~found)
    is_company = (d["customer_kind"] == "company").to_numpy(dtype=bool)
    name_present = np.where(is_company, checks.present(d["customer_company_name"]),
                            checks.present(d["customer_last_name"]))
    out.add(r.CUSTOMER_NAME_MISSING, found & ~name_present,
            field=lambda row: "customer.company_name" if is_company[row] else "customer.last_name")
    salutation_length = checks.text_length(d["customer_salutation"])
    out.add(r.CUSTOMER_SALUTATION_TOO_LONG, found & (salutation_length > MAX_SALUTATION),
            params=lambda row: {"length": salutation_length[row]})
    missing = {key: ~checks.present(d[column]) for column, key in CUSTOMER_ADDRESS}
    out.add(r.CUSTOMER_ADDRESS_INCOMPLETE, found & np.logical_or.reduce(list(missing.values())),
            params=lambda row: {"missing": Labels(tuple(k for k, m in missing.items() if m[row]))})
    country = _value(d["customer_country_code"])
    out.add(r.CUSTOMER_COUNTRY_INVALID, found & ~checks.valid_country(d["customer_country_code"]),
            params=lambda row: {"value": country(row)})
    email = _value(d["customer_email"])
    out.add(r.CUSTOMER_EMAIL_INVALID,
            found & checks.present(d["customer_email"]) & ~checks.valid_email(d["customer_email"]),
            params=lambda row: {"value": email(row)})
    vat = _value(d["customer_vat_id"])
    out.add(r.CUSTOMER_VAT_ID_INVALID,
            found & checks.present(d["customer_vat_id"]) & ~checks.valid_vat_id(d["customer_vat_id"]),
            params=lambda row: {"value": vat(row)})
    for order, (column, field, key, limit) in enumerate(CUSTOMER_LIMITS):
        lengths = checks.text_length(d[column])
        out.add(r.CUSTOMER_FIELD_TOO_LONG, found & (lengths > limit), field=field, field_order=order,
                params=lambda row, lengths=lengths, key=key, limit=limit: {
                    "which": Label(key), "length": lengths[row], "limit": limit})


def _draft_rules(d: pd.DataFrame, out: Collector, fallback: date) -> pd.Series:
    """Document-level rules; returns each draft's relevant date for the tax-rate rule."""
    voucher_given = checks.present(d["voucher_date_text"])
    voucher_ok = d["voucher_date"].notna().to_numpy(dtype=bool)
    out.add(r.VOUCHER_DATE_MISSING, ~voucher_given)
    voucher_text = _value(d["voucher_date_text"])
    out.add(r.VOUCHER_DATE_INVALID, voucher_given & ~voucher_ok, params=lambda row: {"value": voucher_text(row)})
    for order, column in enumerate(SERVICE_DATES):
        given = checks.present(d[f"{column}_text"])
        raw = _value(d[f"{column}_text"])
        out.add(r.SERVICE_DATE_INVALID, given & d[column].isna().to_numpy(dtype=bool), field=column,
                field_order=order, params=lambda row, raw=raw: {"value": raw(row)})
    start_given = checks.present(d["service_period_start_text"])
    end_given = checks.present(d["service_period_end_text"])
    out.add(r.SERVICE_PERIOD_INCOMPLETE, start_given ^ end_given,
            field=lambda row: "service_period_end" if start_given[row] else "service_period_start")
    start, end = d["service_period_start"], d["service_period_end"]
    starts, ends = _value(start), _value(end)
    out.add(r.SERVICE_PERIOD_END_BEFORE_START, (start.notna() & end.notna() & (end < start)).to_numpy(dtype=bool),
            params=lambda row: {"start": _as_date(starts(row)), "end": _as_date(ends(row))})
    currency = _value(d["currency"])
    out.add(r.CURRENCY_NOT_EUR, ~(d["currency"].str.strip().str.upper() == "EUR").to_numpy(dtype=bool),
            params=lambda row: {"value": currency(row)})
    title_length = checks.text_length(d["title"])
    out.add(r.TITLE_TOO_LONG, title_length > MAX_TITLE, params=lambda row: {"length": title_length[row]})
    intro_length = checks.text_length(d["introduction"])
    out.add(r.INTRODUCTION_TOO_LONG, intro_length > MAX_TEXT, params=lambda row: {"length": intro_length[row]})
    remark_length = checks.text_length(d["remark"])
    reference_length = reference_line_lengths(d)
    remark_limit = MAX_TEXT - 1 - reference_length
    reference_too_long = reference_length > MAX_TEXT
    out.add(r.REMARK_TOO_LONG, checks.present(d["remark"]) & ~reference_too_long & (remark_length > remark_limit),
            params=lambda row: {"length": remark_length[row], "limit": remark_limit[row]})
    out.add(r.REFERENCE_LINE_TOO_LONG, reference_too_long, params=lambda row: {"length": reference_length[row]})
    found = checks.present(d["customer_found_id"])
    texts = [(column, field, key, None) for column, field, key in DRAFT_TEXTS]
    texts += [(column, field, key, found) for column, field, key in CUSTOMER_TEXTS]
    for order, (column, field, key, only) in enumerate(texts):
        mask = checks.has_control_characters(d[column])
        out.add(r.TEXT_CONTROL_CHARACTERS, mask if only is None else mask & only, field=field, field_order=order,
                params=lambda row, key=key: {"where": Label(key)})
    return relevant_dates(d, fallback)


def relevant_dates(d: pd.DataFrame, fallback: date) -> pd.Series:
    """Per draft: period end when the period is complete, else service date, else voucher date, else
    ``fallback`` (the rule of ``payloads.relevant_date``)."""
    period = d["service_period_start"].notna() & d["service_period_end"].notna()
    relevant = d["service_period_end"].where(period, d["service_date"])
    relevant = relevant.where(relevant.notna(), d["voucher_date"])
    return relevant.fillna(pd.Timestamp(fallback)).astype("datetime64[us]")


def reference_line_lengths(d: pd.DataFrame) -> np.ndarray:
    """Length of ``payloads.reference_line`` for every draft, computed column-wise."""
    separator = len(payloads.REFERENCE_SEPARATOR)
    number_given = checks.present(d["number"])
    length = _REFERENCE_FIXED + checks.text_length(d["id"])
    length = length + np.where(number_given, checks.text_length(d["number"]) + separator, 0)
    for origin, column in (("work_order", "work_order_number"), ("contract", "contract_number")):
        shown = (d["origin"] == origin).to_numpy(dtype=bool) & checks.present(d[column])
        label = len(payloads.ORIGIN_LABELS[origin]) + 1
        length = length + np.where(shown, label + checks.text_length(d[column]) + separator, 0)
    return length


def _as_date(value: Any) -> date | None:
    return None if pd.isna(value) else pd.Timestamp(value).date()


def _line_rules(d: pd.DataFrame, lines: pd.DataFrame, relevant: pd.Series, out: Collector) -> None:
    doc = pd.Index(d["id"]).get_indexer(lines["draft_id"])
    known = doc >= 0
    counts = np.bincount(doc[known], minlength=len(d))
    out.add(r.NO_LINES, counts == 0)
    out.add(r.TOO_MANY_LINES, counts > MAX_LINES, params=lambda row: {"count": counts[row]})

    positions = lines["position"].to_numpy(dtype=np.int64)
    at = {"docs": doc, "positions": positions}

    def field(column: str):
        return lambda row: line_field(column, positions[row])

    def with_value(series: pd.Series):
        values = series.to_numpy()
        return lambda row: {"position": positions[row], "value": values[row]}

    out.add(r.LINE_NAME_MISSING, known & ~checks.present(lines["name"]), field=field("name"),
            params=lambda row: {"position": positions[row]}, **at)
    name_length = checks.text_length(lines["name"])
    out.add(r.LINE_NAME_TOO_LONG, known & (name_length > MAX_LINE_NAME), field=field("name"),
            params=lambda row: {"position": positions[row], "length": name_length[row]}, **at)
    description_length = checks.text_length(lines["description"])
    out.add(r.LINE_DESCRIPTION_TOO_LONG, known & (description_length > MAX_TEXT), field=field("description"),
            params=lambda row: {"position": positions[row], "length": description_length[row]}, **at)
    for order, (column, key) in enumerate(LINE_TEXTS, start=len(DRAFT_TEXTS) + len(CUSTOMER_TEXTS)):
        out.add(r.TEXT_CONTROL_CHARACTERS, known & checks.has_control_characters(lines[column]),
                field=field(column), field_order=order,
                params=lambda row, key=key: {"where": Label(key, int(positions[row]))}, **at)

    custom = known & (lines["type"] == "custom").to_numpy(dtype=bool)
    out.add(r.LINE_UNIT_MISSING, custom & ~checks.present(lines["unit_name"]), field=field("unit_name"),
            params=lambda row: {"position": positions[row]}, **at)
    quantity = lines["quantity"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        quantity_ok = (quantity > 0) & (quantity < MAX_QUANTITY)
    out.add(r.LINE_QUANTITY_OUT_OF_RANGE, custom & ~quantity_ok, field=field("quantity"),
            params=with_value(lines["quantity"]), **at)
    out.add(r.LINE_QUANTITY_TOO_PRECISE, custom & checks.too_many_places(lines["quantity_text"], quantity, 4),
            field=field("quantity"),
            params=with_value(lines["quantity"]), **at)
    price = lines["unit_price"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        price_ok = (price >= 0) & (price <= MAX_UNIT_PRICE)
    out.add(r.LINE_PRICE_OUT_OF_RANGE, custom & ~price_ok, field=field("unit_price"),
            params=with_value(lines["unit_price"]), **at)
    out.add(r.LINE_PRICE_TOO_PRECISE, custom & checks.too_many_places(lines["unit_price_text"], price, 4),
            field=field("unit_price"),
            params=with_value(lines["unit_price"]), **at)

    safe_doc = np.where(known, doc, 0)
    tax_type = d["tax_type"].to_numpy(dtype=object)[safe_doc]
    price_kind = lines["price_kind"].to_numpy(dtype=object)
    given_kind = checks.present(lines["price_kind"])
    out.add(r.LINE_PRICE_KIND_MISMATCH, custom & given_kind & (price_kind != tax_type), field=field("price_kind"),
            params=lambda row: {"position": positions[row], "price_kind": Label(str(price_kind[row])),
                                "tax_type": Label(str(tax_type[row]))}, **at)

    rate = lines["tax_rate"].to_numpy(dtype=np.float64)
    line_relevant = relevant.to_numpy()[safe_doc]
    reduced = (line_relevant >= np.datetime64(REDUCED_FROM)) & (line_relevant <= np.datetime64(REDUCED_UNTIL))
    rate_ok = np.where(reduced, np.isin(rate, REDUCED_RATES), np.isin(rate, STANDARD_RATES))
    out.add(r.LINE_TAX_RATE_INVALID, custom & ~rate_ok, field=field("tax_rate"),
            params=lambda row: {"position": positions[row], "value": rate[row],
                                "date": _as_date(line_relevant[row]),
                                "allowed": REDUCED_RATES if reduced[row] else STANDARD_RATES}, **at)

    discount = lines["discount_percentage"].to_numpy(dtype=np.float64)
    discount_text = lines["discount_percentage_text"].to_numpy(dtype=object)
    not_a_number = checks.not_a_number(lines["discount_percentage_text"], discount)  # 'NaN' is no 0 %
    with np.errstate(invalid="ignore"):
        discount_bad = not_a_number | (~np.isnan(discount) & ((discount < 0) | (discount > 100)))
    out.add(r.LINE_DISCOUNT_OUT_OF_RANGE, custom & discount_bad, field=field("discount_percentage"),
            params=lambda row: {"position": positions[row], "value": checks.shown_number(discount_text[row])
                                if not_a_number[row] else discount[row]}, **at)
    out.add(r.LINE_DISCOUNT_TOO_PRECISE, custom & ~not_a_number
            & checks.too_many_places(lines["discount_percentage_text"], discount, 2),
            field=field("discount_percentage"), params=with_value(lines["discount_percentage"]), **at)
