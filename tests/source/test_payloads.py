"""Lexware request bodies built from extracted rows (SQLite and PostgreSQL) and their exact formats."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa

from lexoffice import payloads
from lexoffice.source.frames import DRAFTS, prepare_drafts
from lexoffice.staging.invoices import iter_invoice_documents
from lexoffice.staging.transactions import iter_transaction_documents
from lexoffice.validation.invoices import reference_line_lengths
from tests.source.rows import (
    custom_line, fresh_schemas, insert_invoice_rows, insert_transaction_rows, invoice_rows, transaction_rows,
)

INVOICE_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$")
FINANCE_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


@pytest.fixture
def source(engine: sa.Engine) -> sa.Engine:
    return fresh_schemas(engine)


def _invoice(source: sa.Engine, rows):
    insert_invoice_rows(source, rows)
    [[document]] = iter_invoice_documents(source, company_id=rows.company_id, ids=[rows.draft_id])
    assert document.is_valid, document.reasons
    json.dumps([document.payload, document.related], allow_nan=False)  # plain JSON, no NaN
    return document


def test_invoice_body_has_the_documented_shape(source: sa.Engine) -> None:
    document = _invoice(source, invoice_rows("shape"))
    assert document.payload == {
        "voucherDate": "2025-03-10T00:00:00.000+01:00",
        "address": {"name": "Bäckerei Schäfer & Söhne", "street": "Königsweg 3", "city": "München", "zip": "80331",
                    "countryCode": "DE"},
        "lineItems": [
            {"type": "custom", "name": "Schädlingsmonitoring Köderstation", "description": "Inkl. Entsorgung",
             "quantity": 3, "unitName": "Stück",
             "unitPrice": {"currency": "EUR", "netAmount": 12.5, "taxRatePercentage": 19}, "discountPercentage": 5},
            {"type": "text", "name": "Hinweis: Köderstationen bitte nicht verstellen."},
        ],
        "totalPrice": {"currency": "EUR"},
        "taxConditions": {"taxType": "net"},
        "shippingConditions": {"shippingType": "service", "shippingDate": "2025-03-07T00:00:00.000+01:00"},
        "title": "Rechnung",
        "introduction": "Vielen Dank für Ihren Auftrag.",
        "remark": "Zahlbar in 14 Tagen.\nReferenz: RE-2025-0042 \u00b7 Auftrag WO-881 \u00b7 lxa:draft:dr-shape",
    }
    assert "contactId" not in document.payload["address"]


def test_gross_invoice_over_a_summer_service_period(source: sa.Engine) -> None:
    rows = invoice_rows("gross")
    rows.customer.update(kind="person", company_name=None, vat_id=None, email="jürgen.schäfer@web.de")
    rows.draft.update(tax_type="gross", origin="contract", work_order_id=None, service_date=None,
                      service_period_start=date(2025, 6, 1), service_period_end=date(2025, 6, 30), remark=None,
                      title=None, introduction="Zeile 1\r\nZeile 2")
    rows.lines = [custom_line(rows.draft_id, 1, price_kind="gross", unit_price=14.875, quantity=1.5,
                              discount_percentage=None, description=None)]
    document = _invoice(source, rows)
    body = document.payload
    assert body["shippingConditions"] == {"shippingType": "serviceperiod",
                                          "shippingDate": "2025-06-01T00:00:00.000+02:00",
                                          "shippingEndDate": "2025-06-30T00:00:00.000+02:00"}
    assert body["taxConditions"] == {"taxType": "gross"}
    assert body["lineItems"] == [{"type": "custom", "name": "Schädlingsmonitoring Köderstation", "quantity": 1.5,
                                  "unitName": "Stück", "discountPercentage": 0,
                                  "unitPrice": {"currency": "EUR", "grossAmount": 14.875, "taxRatePercentage": 19}}]
    assert body["address"]["name"] == "Jürgen Schäfer"
    assert "title" not in body and body["introduction"] == "Zeile 1\nZeile 2"
    assert body["remark"] == "Referenz: RE-2025-0042 \u00b7 lxa:draft:dr-gross"  # contract row has no number here
    assert document.source_ref == "RE-2025-0042 (contract)"
    assert document.related == {
        "customer_key": "customer:cu-gross",
        "lookup": {"email": "jürgen.schäfer@web.de", "name": "Jürgen Schäfer"},
        "contact": {
            "version": 0, "roles": {"customer": {}},
            "person": {"salutation": "Herr", "firstName": "Jürgen", "lastName": "Schäfer"},
            "addresses": {"billing": [{"street": "Königsweg 3", "city": "München", "zip": "80331",
                                       "countryCode": "DE"}]},
            "emailAddresses": {"private": ["jürgen.schäfer@web.de"]},
        },
    }


def test_company_contact_and_dates_without_service(source: sa.Engine) -> None:
    rows = invoice_rows("company")
    rows.customer.update(vat_id="de 987 654 321", country_code="at", first_name=None, salutation=None)
    rows.draft.update(origin="manual", work_order_id=None, service_date=None, voucher_date=date(2025, 10, 26))
    document = _invoice(source, rows)
    assert document.payload["shippingConditions"] == {"shippingType": "none"}
    assert document.payload["voucherDate"] == "2025-10-26T00:00:00.000+02:00"  # the day summer time ends
    assert document.payload["address"]["countryCode"] == "AT"
    contact = document.related["contact"]
    assert contact["company"] == {"name": "Bäckerei Schäfer & Söhne", "vatRegistrationId": "DE987654321",
                                  "contactPersons": [{"lastName": "Schäfer", "primary": True,
                                                      "emailAddress": "rechnung@baeckerei-schaefer.de"}]}
    assert contact["emailAddresses"] == {"business": ["rechnung@baeckerei-schaefer.de"]}
    assert document.source_ref == "RE-2025-0042 (manual)"


def test_transaction_body_and_account(source: sa.Engine) -> None:
    rows = transaction_rows("pay", completed_at=datetime(2025, 7, 1, 6, 5, 9, 123456, tzinfo=timezone.utc))
    rows.transaction.update(amount=-1234.5, counterparty_iban="de02 1203 0000 0000 2020 51")
    rows.account.update(kind="card", name=None)
    insert_transaction_rows(source, rows)
    [[document]] = iter_transaction_documents(source, company_id=rows.company_id, ids=[rows.transaction_id])
    assert document.payload == {
        "valueDate": "2025-03-11T00:00:00+01:00",
        "bookingDate": "2025-03-10T00:00:00+01:00",
        "transactiondate": "2025-07-01T08:05:09+02:00",
        "amount": -1234.5,
        "purpose": "Miete Büro 03/2025",
        "recipientOrSenderName": "Müller & Schmidt GmbH & Co. KG",
        "recipientOrSenderIban": "DE02120300000000202051",
        "externalReference": rows.transaction_id,
    }
    assert all(FINANCE_DATETIME.match(document.payload[k]) for k in ("valueDate", "bookingDate", "transactiondate"))
    assert document.related == {"iban": "DE89370400440532013000", "account_id": "ac-pay", "account": {
        "type": "CREDITCARD", "accountSystem": "lexoffice-airflow", "name": "DE89370400440532013000",
        "bankName": "Beispielbank AG", "iban": "DE89370400440532013000", "externalReference": "ac-pay"}}
    assert "financialAccountId" not in document.payload
    assert document.source_ref == (
        f"2025-03-10 -1234.50 EUR Müller & Schmidt GmbH & Co. KG (transfer, txn {rows.transaction_id})")


@pytest.mark.parametrize(("moment", "expected_invoice", "expected_finance"), [
    (date(2025, 1, 15), "2025-01-15T00:00:00.000+01:00", "2025-01-15T00:00:00+01:00"),
    (date(2025, 3, 30), "2025-03-30T00:00:00.000+01:00", "2025-03-30T00:00:00+01:00"),  # DST starts at 02:00
    (date(2025, 3, 31), "2025-03-31T00:00:00.000+02:00", "2025-03-31T00:00:00+02:00"),
    (datetime(2025, 3, 30, 1, 0, tzinfo=timezone.utc), "2025-03-30T03:00:00.000+02:00", "2025-03-30T03:00:00+02:00"),
    (datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=ZoneInfo("Europe/Berlin")),
     "2025-12-31T23:59:59.999+01:00", "2025-12-31T23:59:59+01:00"),
    (pd.Timestamp("2025-08-01 10:00", tz="UTC"), "2025-08-01T12:00:00.000+02:00", "2025-08-01T12:00:00+02:00"),
])
def test_datetime_formats_are_exact(moment, expected_invoice: str, expected_finance: str) -> None:
    assert payloads.lexware_datetime(moment) == expected_invoice
    assert INVOICE_DATETIME.match(expected_invoice)
    assert payloads.finance_datetime(moment) == expected_finance


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        payloads.lexware_datetime(datetime(2025, 1, 1, 12, 0))


@pytest.mark.parametrize("draft", [
    {"id": "1", "number": "RE-1", "origin": "work_order", "work_order_number": "WO-9", "contract_number": None},
    {"id": "22", "number": None, "origin": "work_order", "work_order_number": "WO-9", "contract_number": "V-1"},
    {"id": "333", "number": " ", "origin": "contract", "work_order_number": None, "contract_number": "V-2025-0012"},
    {"id": "4444", "number": "RE-2025-0042", "origin": "contract", "work_order_number": "WO-1",
     "contract_number": None},
    {"id": "x", "number": "Ä-Nr. 7", "origin": "manual", "work_order_number": "WO-1", "contract_number": "V-1"},
])
def test_reference_line_length_rule_matches_the_reference_line(draft: dict) -> None:
    """Validation budgets the remark with a column-wise length; it must equal the real line's length."""
    frame = pd.DataFrame([{column: None for column in DRAFTS.columns} | draft])
    frame["created_at"] = pd.Timestamp("2025-01-01", tz="UTC")
    assert reference_line_lengths(prepare_drafts(frame))[0] == len(payloads.reference_line(draft))
    assert payloads.reference_line(draft).endswith(f"lxa:draft:{draft['id']}")
