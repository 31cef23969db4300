"""The invoice rules of ``POST /v1/invoices`` and the stored invoice they produce.

Every violation is collected (not only the first), with the field path Lexware would name, so a client's
error mapping can be tested against all of them in one request. Totals come from ``sandbox.totals``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.clock import format_lexware, parse_voucher_datetime
from sandbox.contacts import COUNTRY_CODE, display_name
from sandbox.errors import Violation
from sandbox.jsonbody import decimal_places, is_number, plain
from sandbox.lifecycle import open_amount
from sandbox.records import Organization
from sandbox.taxrules import (DATED_SHIPPING_TYPES, PERIOD_SHIPPING_TYPES, SHIPPING_TYPES, relevant_date,
                              valid_tax_rates)
from sandbox.totals import PricedLine, Totals, compute_totals, round_cents

MAX_LINE_ITEMS = 300
MAX_TITLE = 25
MAX_LONG_TEXT = 2000
MAX_LINE_NAME = 255
LINE_TYPES = ("custom", "material", "service", "text")
TAX_TYPES = ("net", "gross", "vatfree", "intraCommunitySupply", "constructionService13b", "externalService13b",
             "thirdPartyCountryService", "thirdPartyCountryDelivery", "photovoltaicEquipment")
VAT_FREE_TAX_TYPES = frozenset(TAX_TYPES) - {"net", "gross"}
# Vat-free types other than plain "vatfree" only work with a referenced contact (reverse charge needs one).
CONTACT_ONLY_TAX_TYPES = VAT_FREE_TAX_TYPES - {"vatfree", "photovoltaicEquipment"}
TAX_SUB_TYPES = ("distanceSales", "electronicServices")
DATETIME_FORMAT_MESSAGE = "muss dem Format yyyy-MM-ddTHH:mm:ss.SSSXXX entsprechen"

ContactLookup = Callable[[str], dict[str, Any] | None]


@dataclass
class Checker:
    """Collects violations; every ``check_*`` returns the valid value or None."""

    violations: list[Violation] = field(default_factory=list)

    def add(self, path: str, violation: str, message: str) -> None:
        self.violations.append(Violation(path, violation, message))

    def required(self, container: dict[str, Any], key: str, path: str) -> Any:
        value = container.get(key)
        if value is None or value == "":
            self.add(path, "NOTNULL", "darf nicht leer sein")
            return None
        return value

    def obj(self, container: dict[str, Any], key: str, path: str, required: bool = True) -> dict[str, Any] | None:
        value = self.required(container, key, path) if required else container.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.add(path, "TYPE", "muss ein Objekt sein")
            return None
        return value

    def text(self, container: dict[str, Any], key: str, path: str, max_length: int,
             required: bool = False) -> str | None:
        value = self.required(container, key, path) if required else container.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(path, "TYPE", "muss eine Zeichenkette sein")
            return None
        if len(value) > max_length:
            self.add(path, "SIZE", f"Größe muss zwischen 0 und {max_length} sein")
            return None
        return value

    def datetime(self, container: dict[str, Any], key: str, path: str, required: bool = True) -> datetime | None:
        value = self.required(container, key, path) if required else container.get(key)
        if value is None:
            return None
        parsed = parse_voucher_datetime(value)
        if parsed is None:
            self.add(path, "PATTERN", DATETIME_FORMAT_MESSAGE)
        return parsed

    def number(self, container: dict[str, Any], key: str, path: str, max_decimals: int,
               required: bool = True, minimum: Decimal | None = None,
               maximum: Decimal | None = None) -> Decimal | None:
        value = self.required(container, key, path) if required else container.get(key)
        if value is None:
            return None
        if not is_number(value):
            self.add(path, "TYPE", "muss eine Zahl sein")
            return None
        number = Decimal(value)
        if decimal_places(number) > max_decimals:
            self.add(path, "DIGITS", f"höchstens {max_decimals} Nachkommastellen erlaubt")
            return None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            self.add(path, "RANGE", f"muss zwischen {minimum} und {maximum} liegen")
            return None
        return number

    def choice(self, container: dict[str, Any], key: str, path: str, allowed: tuple[str, ...] | frozenset[str],
               required: bool = True) -> str | None:
        value = self.required(container, key, path) if required else container.get(key)
        if value is None:
            return None
        if value not in allowed:
            self.add(path, "INVALID_VALUE", f"muss einer der Werte {sorted(allowed)} sein")
            return None
        return str(value)

    def currency(self, container: dict[str, Any], path: str) -> None:
        value = self.required(container, "currency", path)
        if value is not None and value != "EUR":
            self.add(path, "INVALID_VALUE", "nur EUR wird unterstützt")


@dataclass(frozen=True)
class ValidInvoice:
    """What validation learned about a request, enough to build the stored invoice."""

    body: dict[str, Any]
    voucher_date: datetime
    tax_type: str
    priced_lines: dict[int, PricedLine]
    contact: dict[str, Any] | None


def validate_invoice(body: Any, org: Organization, lookup_contact: ContactLookup
                     ) -> tuple[list[Violation], ValidInvoice | None]:
    check = Checker()
    if not isinstance(body, dict):
        check.add("invoice", "TYPE", "muss ein Objekt sein")
        return check.violations, None
    voucher_date = check.datetime(body, "voucherDate", "voucherDate")
    tax_conditions = check.obj(body, "taxConditions", "taxConditions")
    tax_type = None
    if tax_conditions is not None:
        tax_type = check.choice(tax_conditions, "taxType", "taxConditions.taxType", TAX_TYPES)
        check.choice(tax_conditions, "taxSubType", "taxConditions.taxSubType", TAX_SUB_TYPES, required=False)
        check.text(tax_conditions, "taxTypeNote", "taxConditions.taxTypeNote", MAX_LONG_TEXT)
        if org.small_business and tax_type is not None and tax_type != "vatfree":
            check.add("taxConditions.taxType", "INVALID_VALUE",
                      "Kleinunternehmer (§ 19 UStG) dürfen nur steuerfreie Rechnungen (vatfree) erstellen")
    contact = _check_address(check, body, lookup_contact)
    if tax_type in CONTACT_ONLY_TAX_TYPES and contact is None and "contactId" not in (body.get("address") or {}):
        check.add("address.contactId", "NOTNULL", f"taxType {tax_type} erfordert einen referenzierten Kontakt")
    shipping = _check_shipping(check, body)
    relevant_day = None
    if voucher_date is not None and shipping is not None:
        relevant_day = relevant_date(voucher_date, *shipping)
    allowed_rates = valid_tax_rates(relevant_day) if relevant_day is not None else None
    if allowed_rates is not None and _destination_rates_allowed(org, tax_conditions):
        allowed_rates = None  # distance sales at destination-country rates: any rate of the destination
    priced = _check_line_items(check, body, tax_type, org, allowed_rates)
    total_price = check.obj(body, "totalPrice", "totalPrice")
    if total_price is not None:
        check.currency(total_price, "totalPrice.currency")
        for key in ("totalDiscountAbsolute", "totalDiscountPercentage"):
            if total_price.get(key) is not None:
                check.add(f"totalPrice.{key}", "UNSUPPORTED",
                          "sandbox: total discounts are not implemented (see docs/sandbox.md)")
    check.text(body, "title", "title", MAX_TITLE)
    check.text(body, "introduction", "introduction", MAX_LONG_TEXT)
    check.text(body, "remark", "remark", MAX_LONG_TEXT)
    language = check.choice(body, "language", "language", ("de", "en"), required=False)
    if language == "en" and "INVOICING_PRO" not in org.business_features:
        check.add("language", "INVALID_VALUE", "englische Rechnungen erfordern INVOICING_PRO")
    _check_payment_conditions(check, body)
    if check.violations or voucher_date is None or tax_type is None:
        return check.violations, None
    return [], ValidInvoice(body=body, voucher_date=voucher_date, tax_type=tax_type, priced_lines=priced,
                            contact=contact)


def _check_address(check: Checker, body: dict[str, Any], lookup_contact: ContactLookup) -> dict[str, Any] | None:
    address = check.obj(body, "address", "address")
    if address is None:
        return None
    contact_id = address.get("contactId")
    if contact_id is not None:
        contact = lookup_contact(contact_id) if isinstance(contact_id, str) and _is_uuid(contact_id) else None
        if contact is None:
            check.add("address.contactId", "INVALID_REFERENCE", "Kontakt existiert nicht")
        elif "customer" not in contact.get("roles", {}):
            check.add("address.contactId", "INVALID_REFERENCE", "Kontakt hat nicht die Rolle Kunde")
        if address.get("countryCode") is not None:
            _check_country(check, address)
        return contact
    check.text(address, "name", "address.name", MAX_LINE_NAME, required=True)
    if check.required(address, "countryCode", "address.countryCode") is not None:
        _check_country(check, address)
    return None


def _check_country(check: Checker, address: dict[str, Any]) -> None:
    code = address["countryCode"]
    if not isinstance(code, str) or not COUNTRY_CODE.fullmatch(code):
        check.add("address.countryCode", "INVALID_VALUE", "kein gültiger Ländercode (ISO 3166 alpha-2)")


ShippingDates = tuple[str | None, datetime | None, datetime | None]


def _check_shipping(check: Checker, body: dict[str, Any]) -> ShippingDates | None:
    shipping = check.obj(body, "shippingConditions", "shippingConditions")
    if shipping is None:
        return None
    shipping_type = check.choice(shipping, "shippingType", "shippingConditions.shippingType",
                                 tuple(sorted(SHIPPING_TYPES)))
    if shipping_type is None:
        return None
    start = end = None
    if shipping_type in DATED_SHIPPING_TYPES | PERIOD_SHIPPING_TYPES:
        start = check.datetime(shipping, "shippingDate", "shippingConditions.shippingDate")
    if shipping_type in PERIOD_SHIPPING_TYPES:
        end = check.datetime(shipping, "shippingEndDate", "shippingConditions.shippingEndDate")
        if start is not None and end is not None and end < start:
            check.add("shippingConditions.shippingEndDate", "INVALID_VALUE", "darf nicht vor shippingDate liegen")
            return None
    if (shipping_type != "none" and start is None) or (shipping_type in PERIOD_SHIPPING_TYPES and end is None):
        return None
    return shipping_type, start, end


def _destination_rates_allowed(org: Organization, tax_conditions: dict[str, Any] | None) -> bool:
    return (org.distance_sales_principle == "DESTINATION" and tax_conditions is not None
            and tax_conditions.get("taxSubType") in TAX_SUB_TYPES)


def _check_line_items(check: Checker, body: dict[str, Any], tax_type: str | None, org: Organization,
                      allowed_rates: frozenset[Decimal] | None) -> dict[int, PricedLine]:
    items = check.required(body, "lineItems", "lineItems")
    if items is None:
        return {}
    if not isinstance(items, list) or not items:
        check.add("lineItems", "SIZE", "muss mindestens eine Position enthalten")
        return {}
    if len(items) > MAX_LINE_ITEMS:
        check.add("lineItems", "SIZE", f"Größe muss zwischen 1 und {MAX_LINE_ITEMS} sein")
        return {}
    priced: dict[int, PricedLine] = {}
    for index, item in enumerate(items):
        path = f"lineItems[{index}]"
        if not isinstance(item, dict):
            check.add(path, "TYPE", "muss ein Objekt sein")
            continue
        line_type = check.choice(item, "type", f"{path}.type", LINE_TYPES)
        check.text(item, "name", f"{path}.name", MAX_LINE_NAME, required=True)
        check.text(item, "description", f"{path}.description", MAX_LONG_TEXT)
        if line_type in (None, "text"):
            continue
        line = _check_priced_line(check, item, path, line_type, tax_type, org, allowed_rates)
        if line is not None:
            priced[index] = line
    return priced


def _check_priced_line(check: Checker, item: dict[str, Any], path: str, line_type: str, tax_type: str | None,
                       org: Organization, allowed_rates: frozenset[Decimal] | None) -> PricedLine | None:
    if line_type in ("material", "service"):
        article_id = check.required(item, "id", f"{path}.id")
        if article_id is not None and not (isinstance(article_id, str) and _is_uuid(article_id)):
            check.add(f"{path}.id", "INVALID_VALUE", "muss eine UUID sein")
    quantity = check.number(item, "quantity", f"{path}.quantity", 4)
    check.text(item, "unitName", f"{path}.unitName", MAX_LINE_NAME, required=True)
    discount = check.number(item, "discountPercentage", f"{path}.discountPercentage", 2, required=False,
                            minimum=Decimal(0), maximum=Decimal(100))
    price = check.obj(item, "unitPrice", f"{path}.unitPrice")
    if price is None:
        return None
    price_path = f"{path}.unitPrice"
    check.currency(price, f"{price_path}.currency")
    gross_prices = tax_type == "gross"
    net = check.number(price, "netAmount", f"{price_path}.netAmount", 4, required=not gross_prices)
    gross = check.number(price, "grossAmount", f"{price_path}.grossAmount", 4, required=gross_prices)
    rate = check.number(price, "taxRatePercentage", f"{price_path}.taxRatePercentage", 2,
                        minimum=Decimal(0), maximum=Decimal(100))
    if rate is not None:
        rate_path = f"{price_path}.taxRatePercentage"
        if (tax_type in VAT_FREE_TAX_TYPES or org.small_business) and rate != 0:
            check.add(rate_path, "INVALID_VALUE", "muss 0 sein für steuerfreie Belege")
        elif allowed_rates is not None and rate not in allowed_rates:
            rates = ", ".join(str(r) for r in sorted(allowed_rates))
            check.add(rate_path, "INVALID_VALUE", f"Steuersatz am maßgeblichen Datum nicht gültig (erlaubt: {rates})")
    unit_amount = gross if gross_prices else net
    if quantity is None or unit_amount is None or rate is None:
        return None
    return PricedLine(quantity=quantity, unit_amount=unit_amount, tax_rate=rate,
                      discount_percentage=discount if discount is not None else Decimal(0))


def _check_payment_conditions(check: Checker, body: dict[str, Any]) -> None:
    conditions = check.obj(body, "paymentConditions", "paymentConditions", required=False)
    if conditions is None:
        return
    check.text(conditions, "paymentTermLabel", "paymentConditions.paymentTermLabel", MAX_LONG_TEXT)
    check.number(conditions, "paymentTermDuration", "paymentConditions.paymentTermDuration", 0, required=False,
                 minimum=Decimal(0), maximum=Decimal(100_000))
    discount = check.obj(conditions, "paymentDiscountConditions", "paymentConditions.paymentDiscountConditions",
                         required=False)
    if discount is not None:
        path = "paymentConditions.paymentDiscountConditions"
        check.number(discount, "discountPercentage", f"{path}.discountPercentage", 2, required=False,
                     minimum=Decimal(0), maximum=Decimal(100))
        check.number(discount, "discountRange", f"{path}.discountRange", 0, required=False,
                     minimum=Decimal(0), maximum=Decimal(100_000))


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _is_uuid(value: str) -> bool:
    return bool(_UUID.fullmatch(value))


READ_ONLY_FIELDS = ("id", "organizationId", "createdDate", "updatedDate", "version", "archived", "voucherStatus",
                    "voucherNumber", "dueDate", "taxAmounts", "electronicDocumentProfile", "files",
                    "relatedVouchers", "closingInvoice", "claimedGrossAmount", "downPaymentDeductions",
                    "recurringTemplateId")


def build_invoice(valid: ValidInvoice, org: Organization, finalize: bool, now: str) -> dict[str, Any]:
    """The stored invoice: the request's writable fields plus Lexware's computed ones."""
    body = {k: v for k, v in valid.body.items() if k not in READ_ONLY_FIELDS}
    gross_prices = valid.tax_type == "gross"
    totals = compute_totals(list(valid.priced_lines.values()), gross_prices)
    invoice: dict[str, Any] = {
        "id": str(uuid.uuid4()), "organizationId": org.organization_id, "createdDate": now, "updatedDate": now,
        "version": 0, "language": body.get("language", "de"), "archived": False,
        "voucherStatus": "open" if finalize else "draft", "voucherNumber": None,
        "voucherDate": body["voucherDate"], "dueDate": None,
    }
    if finalize:
        invoice["voucherNumber"] = f"RE{org.next_invoice_number:04d}"
        org.next_invoice_number += 1
        duration = int((body.get("paymentConditions") or {}).get("paymentTermDuration") or 0)
        invoice["dueDate"] = format_lexware(valid.voucher_date + timedelta(days=duration))
    invoice["address"] = _stored_address(body["address"], valid.contact)
    invoice["electronicDocumentProfile"] = "NONE"
    invoice["lineItems"] = [_stored_line(item, valid.priced_lines.get(i), gross_prices)
                            for i, item in enumerate(body["lineItems"])]
    invoice["totalPrice"] = {**body["totalPrice"], **_totals_json(totals)}
    invoice["taxAmounts"] = [{"taxRatePercentage": t.tax_rate, "taxAmount": t.tax_amount, "netAmount": t.net_amount}
                             for t in totals.tax_amounts]
    for key, value in body.items():
        if key not in invoice:
            invoice[key] = value
    return plain(invoice)


def _stored_address(address: dict[str, Any], contact: dict[str, Any] | None) -> dict[str, Any]:
    if contact is None:
        return dict(address)
    billing = (contact.get("addresses", {}).get("billing") or [{}])[0]
    merged: dict[str, Any] = {"contactId": contact["id"], "name": display_name(contact)}
    merged.update({k: v for k, v in billing.items() if v is not None})
    merged.update({k: v for k, v in address.items() if v is not None})
    return merged


def _stored_line(item: dict[str, Any], line: PricedLine | None, gross_prices: bool) -> dict[str, Any]:
    stored = dict(item)
    if line is None:
        return stored
    factor = (Decimal(100) + line.tax_rate) / Decimal(100)
    price = dict(item["unitPrice"])
    if gross_prices:
        price["netAmount"] = round_cents(line.unit_amount / factor)
    else:
        price["grossAmount"] = round_cents(line.unit_amount * factor)
    stored["unitPrice"] = price
    stored["lineItemAmount"] = line.amount
    stored.setdefault("discountPercentage", Decimal(0))
    return stored


def _totals_json(totals: Totals) -> dict[str, Decimal]:
    return {"totalNetAmount": totals.total_net, "totalGrossAmount": totals.total_gross,
            "totalTaxAmount": totals.total_tax}


def voucherlist_item(invoice: dict[str, Any]) -> dict[str, Any]:
    """The invoice as a ``/v1/voucherlist`` entry."""
    gross = invoice["totalPrice"]["totalGrossAmount"]
    return {
        "id": invoice["id"], "voucherType": "invoice", "voucherStatus": invoice["voucherStatus"],
        "voucherNumber": invoice["voucherNumber"], "voucherDate": invoice["voucherDate"],
        "createdDate": invoice["createdDate"], "updatedDate": invoice["updatedDate"], "dueDate": invoice["dueDate"],
        "contactId": invoice["address"].get("contactId"), "contactName": invoice["address"].get("name", ""),
        "totalAmount": gross, "openAmount": open_amount(invoice),
        "currency": invoice["totalPrice"].get("currency", "EUR"), "archived": invoice["archived"],
    }
