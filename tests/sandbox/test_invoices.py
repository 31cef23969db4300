"""``/v1/invoices`` over real HTTP: the reference example, one test per validation rule, totals and reads."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.sandbox.support import (REFERENCE_INVOICE, OrgClient, company_contact, invoice_body, priced_line,
                                   violation_fields)


def test_reference_example_is_accepted_as_a_draft(api: OrgClient) -> None:
    response = api.post("/v1/invoices", json=REFERENCE_INVOICE)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "resourceUri", "createdDate", "updatedDate", "version"}
    assert response.headers["Location"] == body["resourceUri"] == f"{api.base_url}/v1/invoices/{body['id']}"
    invoice = api.get(f"/v1/invoices/{body['id']}").json()
    assert invoice["voucherStatus"] == "draft"
    assert (invoice["title"], invoice["introduction"], invoice["remark"]) == (
        REFERENCE_INVOICE["title"], REFERENCE_INVOICE["introduction"], REFERENCE_INVOICE["remark"])
    assert invoice["totalPrice"] == {"currency": "EUR", "totalNetAmount": 5, "totalGrossAmount": 5,
                                     "totalTaxAmount": 0}
    assert invoice["taxAmounts"] == [{"taxRatePercentage": 0, "taxAmount": 0, "netAmount": 5}]
    assert invoice["createdDate"] == body["createdDate"]
    assert invoice["address"]["name"] == "Bike & Ride GmbH & Co. KG"
    assert invoice["lineItems"][1] == REFERENCE_INVOICE["lineItems"][1]


def test_finalize_true_creates_an_open_invoice_with_number(api: OrgClient) -> None:
    invoice = api.get(f"/v1/invoices/{api.create_invoice(finalize='true')}").json()
    assert invoice["voucherStatus"] == "open"
    assert invoice["voucherNumber"]


def test_misspelt_finalize_parameter_silently_creates_a_draft(api: OrgClient) -> None:
    invoice = api.get(f"/v1/invoices/{api.create_invoice(finalized='true')}").json()
    assert (invoice["voucherStatus"], invoice["voucherNumber"]) == ("draft", None)


def test_validation_error_is_406_regular_body_with_all_violations(api: OrgClient) -> None:
    body = invoice_body(title="x" * 26, remark="y" * 2001)
    response = api.post("/v1/invoices", json=body)
    assert response.status_code == 406
    error = response.json()
    assert set(error) == {"timestamp", "status", "error", "path", "traceId", "message", "details"}
    assert (error["status"], error["error"], error["path"]) == (406, "Not Acceptable", "/v1/invoices")
    assert {d["field"] for d in error["details"]} == {"title", "remark"}
    assert all(set(d) == {"violation", "field", "message"} for d in error["details"])


@pytest.mark.parametrize("field", ["voucherDate", "address", "lineItems", "totalPrice", "taxConditions",
                                   "shippingConditions"])
def test_required_top_level_fields(api: OrgClient, field: str) -> None:
    body = invoice_body()
    del body[field]
    assert violation_fields(api.post("/v1/invoices", json=body)) == {field}


def test_one_time_address_needs_name_and_country_code(api: OrgClient) -> None:
    body = invoice_body(address={"street": "Musterstraße 42"})
    assert violation_fields(api.post("/v1/invoices", json=body)) == {"address.name", "address.countryCode"}


def test_address_may_reference_a_customer_contact(api: OrgClient) -> None:
    contact_id = api.create_contact(company_contact())
    invoice_id = api.create_invoice(invoice_body(address={"contactId": contact_id}))
    address = api.get(f"/v1/invoices/{invoice_id}").json()["address"]
    assert address["contactId"] == contact_id
    assert (address["name"], address["countryCode"]) == ("Testfirma GmbH", "DE")


def test_referenced_contact_must_exist(api: OrgClient) -> None:
    body = invoice_body(address={"contactId": "00000000-0000-4000-8000-000000000000"})
    assert violation_fields(api.post("/v1/invoices", json=body)) == {"address.contactId"}


def test_referenced_contact_must_belong_to_the_organization(api: OrgClient,
                                                            make_org: Callable[..., OrgClient]) -> None:
    foreign = make_org(company_name="Andere GmbH").create_contact(company_contact())
    body = invoice_body(address={"contactId": foreign})
    assert violation_fields(api.post("/v1/invoices", json=body)) == {"address.contactId"}


def test_referenced_contact_must_be_a_customer(api: OrgClient) -> None:
    vendor = api.create_contact(company_contact(roles={"vendor": {}}))
    assert violation_fields(api.post("/v1/invoices", json=invoice_body(address={"contactId": vendor}))) == {
        "address.contactId"}


def test_at_most_300_line_items(api: OrgClient) -> None:
    assert api.post("/v1/invoices", json=invoice_body(lineItems=[priced_line()] * 300)).status_code == 201
    assert violation_fields(api.post("/v1/invoices", json=invoice_body(lineItems=[priced_line()] * 301))) == {
        "lineItems"}


@pytest.mark.parametrize(("field", "limit"), [("title", 25), ("introduction", 2000), ("remark", 2000)])
def test_text_length_limits(api: OrgClient, field: str, limit: int) -> None:
    assert api.post("/v1/invoices", json=invoice_body(**{field: "x" * limit})).status_code == 201
    assert violation_fields(api.post("/v1/invoices", json=invoice_body(**{field: "x" * (limit + 1)}))) == {field}


@pytest.mark.parametrize(("field", "limit"), [("name", 255), ("description", 2000)])
def test_line_item_text_limits(api: OrgClient, field: str, limit: int) -> None:
    ok = invoice_body(lineItems=[priced_line(**{field: "x" * limit})])
    too_long = invoice_body(lineItems=[priced_line(**{field: "x" * (limit + 1)})])
    assert api.post("/v1/invoices", json=ok).status_code == 201
    assert violation_fields(api.post("/v1/invoices", json=too_long)) == {f"lineItems[0].{field}"}


def test_currency_is_eur_only(api: OrgClient) -> None:
    line = priced_line()
    line["unitPrice"]["currency"] = "USD"
    body = invoice_body(lineItems=[line], totalPrice={"currency": "CHF"})
    assert violation_fields(api.post("/v1/invoices", json=body)) == {"lineItems[0].unitPrice.currency",
                                                                     "totalPrice.currency"}


@pytest.mark.parametrize("value", ["2025-03-01T00:00:00+01:00", "2025-03-01", "2025-03-01T00:00:00.000+0100",
                                   "2025-03-01T00:00:00.00+01:00", "2025-03-01 00:00:00.000+01:00"])
def test_dates_must_be_exactly_lexware_format(api: OrgClient, value: str) -> None:
    assert violation_fields(api.post("/v1/invoices", json=invoice_body(voucherDate=value))) == {"voucherDate"}


def test_shipping_date_format_is_checked_too(api: OrgClient) -> None:
    body = invoice_body(shippingConditions={"shippingType": "service", "shippingDate": "2025-03-01"})
    assert violation_fields(api.post("/v1/invoices", json=body)) == {"shippingConditions.shippingDate"}


def test_quantity_and_unit_prices_have_at_most_four_decimals(api: OrgClient) -> None:
    assert api.post("/v1/invoices", json=invoice_body(lineItems=[priced_line(net=1.2345, quantity=0.0001)])
                    ).status_code == 201
    body = invoice_body(lineItems=[priced_line(net=1.23456, quantity=1.00001)])
    assert violation_fields(api.post("/v1/invoices", json=body)) == {"lineItems[0].quantity",
                                                                     "lineItems[0].unitPrice.netAmount"}


@pytest.mark.parametrize(("discount", "accepted"), [(0, True), (12.5, True), (100, True), (99.99, True),
                                                    (100.01, False), (-1, False), (2.555, False)])
def test_discount_percentage_is_0_to_100_with_two_decimals(api: OrgClient, discount: float, accepted: bool) -> None:
    response = api.post("/v1/invoices", json=invoice_body(lineItems=[priced_line(discountPercentage=discount)]))
    if accepted:
        assert response.status_code == 201, response.text
    else:
        assert violation_fields(response) == {"lineItems[0].discountPercentage"}


def dated(voucher: str, shipping: dict[str, Any], rate: int) -> dict[str, Any]:
    return invoice_body(voucherDate=voucher, shippingConditions=shipping, lineItems=[priced_line(rate=rate)])


RATE_FIELD = "lineItems[0].unitPrice.taxRatePercentage"
NONE = {"shippingType": "none"}


@pytest.mark.parametrize(("voucher", "shipping", "rate", "accepted"), [
    ("2025-03-01T00:00:00.000+01:00", NONE, 19, True),
    ("2025-03-01T00:00:00.000+01:00", NONE, 7, True),
    ("2025-03-01T00:00:00.000+01:00", NONE, 16, False),
    ("2020-08-01T00:00:00.000+02:00", NONE, 16, True),
    ("2020-08-01T00:00:00.000+02:00", NONE, 5, True),
    ("2020-08-01T00:00:00.000+02:00", NONE, 19, False),
    # service/delivery: the shipping date decides
    ("2021-01-04T00:00:00.000+01:00", {"shippingType": "delivery",
                                       "shippingDate": "2020-12-30T00:00:00.000+01:00"}, 16, True),
    ("2021-01-04T00:00:00.000+01:00", {"shippingType": "service",
                                       "shippingDate": "2020-12-30T00:00:00.000+01:00"}, 19, False),
    # *period: the end of the period decides
    ("2020-06-15T00:00:00.000+02:00", {"shippingType": "serviceperiod",
                                       "shippingDate": "2020-06-01T00:00:00.000+02:00",
                                       "shippingEndDate": "2020-07-15T00:00:00.000+02:00"}, 16, True),
    ("2020-06-15T00:00:00.000+02:00", {"shippingType": "deliveryperiod",
                                       "shippingDate": "2020-06-01T00:00:00.000+02:00",
                                       "shippingEndDate": "2020-07-15T00:00:00.000+02:00"}, 19, False),
    ("2019-01-01T00:00:00.000+01:00", NONE, 0, True),
])
def test_tax_rate_must_be_valid_on_the_relevant_date(api: OrgClient, voucher: str, shipping: dict[str, Any],
                                                     rate: int, accepted: bool) -> None:
    response = api.post("/v1/invoices", json=dated(voucher, shipping, rate))
    if accepted:
        assert response.status_code == 201, response.text
    else:
        assert violation_fields(response) == {RATE_FIELD}


def test_period_shipping_needs_an_end_not_before_its_start(api: OrgClient) -> None:
    start = "2025-03-10T00:00:00.000+01:00"
    missing_end = invoice_body(shippingConditions={"shippingType": "serviceperiod", "shippingDate": start})
    end_before = invoice_body(shippingConditions={"shippingType": "serviceperiod", "shippingDate": start,
                                                  "shippingEndDate": "2025-03-01T00:00:00.000+01:00"})
    assert violation_fields(api.post("/v1/invoices", json=missing_end)) == {"shippingConditions.shippingEndDate"}
    assert violation_fields(api.post("/v1/invoices", json=end_before)) == {"shippingConditions.shippingEndDate"}


def test_shipping_type_must_be_known_lower_case(api: OrgClient) -> None:
    body = invoice_body(shippingConditions={"shippingType": "NONE"})
    assert violation_fields(api.post("/v1/invoices", json=body)) == {"shippingConditions.shippingType"}


def test_small_business_may_only_send_vatfree_with_zero_percent(make_org: Callable[..., OrgClient]) -> None:
    kleinunternehmer = make_org(small_business=True, tax_type="vatfree")
    net = invoice_body(lineItems=[priced_line(rate=0)])
    vatfree_19 = invoice_body(taxConditions={"taxType": "vatfree"}, lineItems=[priced_line(rate=19)])
    vatfree_0 = invoice_body(taxConditions={"taxType": "vatfree",
                                            "taxTypeNote": "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet."},
                             lineItems=[priced_line(rate=0)])
    assert violation_fields(kleinunternehmer.post("/v1/invoices", json=net)) == {"taxConditions.taxType"}
    assert violation_fields(kleinunternehmer.post("/v1/invoices", json=vatfree_19)) == {RATE_FIELD}
    assert kleinunternehmer.post("/v1/invoices", json=vatfree_0).status_code == 201


def test_vat_free_invoices_need_zero_percent_in_a_regular_organization(api: OrgClient) -> None:
    body = invoice_body(taxConditions={"taxType": "vatfree"}, lineItems=[priced_line(rate=7)])
    assert violation_fields(api.post("/v1/invoices", json=body)) == {RATE_FIELD}


def test_reverse_charge_tax_types_need_a_referenced_contact(api: OrgClient) -> None:
    body = invoice_body(taxConditions={"taxType": "intraCommunitySupply"}, lineItems=[priced_line(rate=0)])
    assert violation_fields(api.post("/v1/invoices", json=body)) == {"address.contactId"}


def test_net_needs_net_amount_and_gross_needs_gross_amount(api: OrgClient) -> None:
    gross_only = priced_line()
    gross_only["unitPrice"] = {"currency": "EUR", "grossAmount": 119, "taxRatePercentage": 19}
    net_only = priced_line()
    assert violation_fields(api.post("/v1/invoices", json=invoice_body(lineItems=[gross_only]))) == {
        "lineItems[0].unitPrice.netAmount"}
    gross_invoice = invoice_body(taxConditions={"taxType": "gross"}, lineItems=[net_only])
    assert violation_fields(api.post("/v1/invoices", json=gross_invoice)) == {"lineItems[0].unitPrice.grossAmount"}


def test_net_totals_use_the_column_method(api: OrgClient) -> None:
    lines = [priced_line(net=1.01) for _ in range(3)] + [priced_line(net=10, rate=7, quantity=2)]
    invoice = api.get(f"/v1/invoices/{api.create_invoice(invoice_body(lineItems=lines))}").json()
    # Per line 3 x 0.19 = 0.57 at 19 %; per column 3.03 x 19 % = 0.5757 -> 0.58.
    assert invoice["totalPrice"] == {"currency": "EUR", "totalNetAmount": 23.03, "totalGrossAmount": 25.01,
                                     "totalTaxAmount": 1.98}
    assert invoice["taxAmounts"] == [{"taxRatePercentage": 7, "taxAmount": 1.4, "netAmount": 20},
                                     {"taxRatePercentage": 19, "taxAmount": 0.58, "netAmount": 3.03}]
    assert [line["lineItemAmount"] for line in invoice["lineItems"]] == [1.01, 1.01, 1.01, 20]


def test_gross_totals_sum_gross_per_rate_and_derive_net(api: OrgClient) -> None:
    line = priced_line()
    line["unitPrice"] = {"currency": "EUR", "grossAmount": 1.19, "taxRatePercentage": 19}
    body = invoice_body(taxConditions={"taxType": "gross"}, lineItems=[copy.deepcopy(line) for _ in range(3)])
    invoice = api.get(f"/v1/invoices/{api.create_invoice(body)}").json()
    assert invoice["totalPrice"] == {"currency": "EUR", "totalNetAmount": 3, "totalGrossAmount": 3.57,
                                     "totalTaxAmount": 0.57}


def test_line_discount_reduces_the_line_amount(api: OrgClient) -> None:
    body = invoice_body(lineItems=[priced_line(net=13.4, quantity=2, discountPercentage=50)])
    invoice = api.get(f"/v1/invoices/{api.create_invoice(body)}").json()
    assert invoice["lineItems"][0]["lineItemAmount"] == 13.4
    assert invoice["totalPrice"]["totalTaxAmount"] == 2.55


def test_get_unknown_or_foreign_invoice_is_404(api: OrgClient, make_org: Callable[..., OrgClient]) -> None:
    invoice_id = api.create_invoice()
    other = make_org(company_name="Andere GmbH")
    for client, path in ((api, "/v1/invoices/00000000-0000-4000-8000-000000000000"),
                         (other, f"/v1/invoices/{invoice_id}")):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["traceId"]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_invoices_cannot_be_changed_or_deleted(api: OrgClient, method: str) -> None:
    invoice_id = api.create_invoice()
    response = api.request(method, f"/v1/invoices/{invoice_id}", json=invoice_body())
    assert response.status_code == 404
    assert api.get(f"/v1/invoices/{invoice_id}").status_code == 200


def test_malformed_json_is_400(api: OrgClient) -> None:
    response = api.post("/v1/invoices", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["traceId"]


def test_total_discounts_are_refused_loudly_not_ignored(api: OrgClient) -> None:
    body = invoice_body(totalPrice={"currency": "EUR", "totalDiscountPercentage": 10})
    assert violation_fields(api.post("/v1/invoices", json=body)) == {"totalPrice.totalDiscountPercentage"}
