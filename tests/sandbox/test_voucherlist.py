"""``/v1/voucherlist`` over real HTTP: required parameters, filters, paging, sorting, the search window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from sandbox.clock import BERLIN
from tests.sandbox.support import OrgClient, company_contact, invoice_body

DRAFTS = {"voucherType": "invoice", "voucherStatus": "draft"}


def listing(api: OrgClient, **params: Any) -> dict[str, Any]:
    response = api.get("/v1/voucherlist", params={**DRAFTS, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(api: OrgClient, **params: Any) -> list[str]:
    return [item["id"] for item in listing(api, **params)["content"]]


@pytest.mark.parametrize("missing", ["voucherType", "voucherStatus"])
def test_type_and_status_are_required(api: OrgClient, missing: str) -> None:
    params = {k: v for k, v in DRAFTS.items() if k != missing}
    response = api.get("/v1/voucherlist", params=params)
    assert response.status_code == 400
    assert response.json()["traceId"]


def test_items_carry_the_documented_fields(api: OrgClient) -> None:
    contact_id = api.create_contact(company_contact())
    invoice_id = api.create_invoice(invoice_body(address={"contactId": contact_id}))
    item = listing(api)["content"][0]
    assert set(item) == {"id", "voucherType", "voucherStatus", "voucherNumber", "voucherDate", "createdDate",
                         "updatedDate", "dueDate", "contactId", "contactName", "totalAmount", "openAmount",
                         "currency", "archived"}
    assert (item["id"], item["voucherType"], item["voucherStatus"], item["contactId"], item["contactName"]) == (
        invoice_id, "invoice", "draft", contact_id, "Testfirma GmbH")
    assert (item["totalAmount"], item["openAmount"], item["currency"]) == (119, None, "EUR")


def test_status_lists_and_any(api: OrgClient) -> None:
    draft = api.create_invoice()
    final = api.create_invoice(finalize="true")
    assert ids(api, voucherStatus="draft") == [draft]
    assert ids(api, voucherStatus="open") == [final]
    assert set(ids(api, voucherStatus="draft,open")) == {draft, final}
    assert set(ids(api, voucherStatus="any", voucherType="any")) == {draft, final}
    assert ids(api, voucherType="quotation", voucherStatus="any") == []


def test_unknown_type_or_status_is_400(api: OrgClient) -> None:
    assert api.get("/v1/voucherlist", params={"voucherType": "bill", "voucherStatus": "draft"}).status_code == 400
    assert api.get("/v1/voucherlist", params={"voucherType": "invoice", "voucherStatus": "x"}).status_code == 400


def test_contact_filter(api: OrgClient) -> None:
    contact_id = api.create_contact(company_contact())
    mine = api.create_invoice(invoice_body(address={"contactId": contact_id}))
    api.create_invoice()
    assert ids(api, contactId=contact_id) == [mine]


def test_voucher_date_filter_uses_berlin_days_inclusive(api: OrgClient) -> None:
    # 23:30 UTC on 1 March is 00:30 on 2 March in Berlin.
    late = api.create_invoice(invoice_body(voucherDate="2025-03-01T23:30:00.000Z"))
    first = api.create_invoice(invoice_body(voucherDate="2025-03-01T00:00:00.000+01:00"))
    assert ids(api, voucherDateFrom="2025-03-02", voucherDateTo="2025-03-02") == [late]
    assert ids(api, voucherDateFrom="2025-03-01", voucherDateTo="2025-03-01") == [first]
    assert set(ids(api, voucherDateFrom="2025-03-01", voucherDateTo="2025-03-02")) == {late, first}


def test_created_date_filter_uses_berlin_days(api: OrgClient) -> None:
    invoice_id = api.create_invoice()
    today = datetime.now(BERLIN).date()
    yesterday = today - timedelta(days=1)
    assert ids(api, createdDateFrom=today.isoformat(), createdDateTo=today.isoformat()) == [invoice_id]
    assert ids(api, createdDateTo=yesterday.isoformat()) == []
    assert ids(api, updatedDateFrom=today.isoformat()) == [invoice_id]


def test_date_filters_must_be_days(api: OrgClient) -> None:
    response = api.get("/v1/voucherlist", params={**DRAFTS, "createdDateFrom": "2025-03-01T00:00:00"})
    assert response.status_code == 400


def test_voucher_number_and_archived_filters(api: OrgClient) -> None:
    final = api.create_invoice(finalize="true")
    number = api.get(f"/v1/invoices/{final}").json()["voucherNumber"]
    assert ids(api, voucherStatus="open", voucherNumber=number) == [final]
    assert ids(api, voucherStatus="open", voucherNumber="RE9999") == []
    assert ids(api, voucherStatus="open", archived="false") == [final]
    assert ids(api, voucherStatus="open", archived="true") == []


def test_paging_and_sort_by_created_date(api: OrgClient) -> None:
    created = [api.create_invoice() for _ in range(5)]
    first_page = listing(api, sort="createdDate,DESC", size=2, page=0)
    assert [i["id"] for i in first_page["content"]] == created[::-1][:2]
    assert (first_page["totalElements"], first_page["totalPages"], first_page["first"], first_page["last"]) == (
        5, 3, True, False)
    last_page = listing(api, sort="createdDate,DESC", size=2, page=2)
    assert [i["id"] for i in last_page["content"]] == [created[0]]
    assert last_page["last"] is True
    assert ids(api, sort="createdDate,ASC") == created


def test_sort_by_voucher_date(api: OrgClient) -> None:
    later = api.create_invoice(invoice_body(voucherDate="2025-03-05T00:00:00.000+01:00"))
    earlier = api.create_invoice(invoice_body(voucherDate="2025-03-01T00:00:00.000+01:00"))
    assert ids(api, sort="voucherDate,ASC") == [earlier, later]
    assert ids(api, sort="voucherDate,DESC") == [later, earlier]


def test_bad_sort_or_size_is_400(api: OrgClient) -> None:
    for params in ({"sort": "totalAmount,ASC"}, {"sort": "createdDate,UP"}, {"size": 251}, {"page": -1}):
        assert api.get("/v1/voucherlist", params={**DRAFTS, **params}).status_code == 400, params


def test_query_beyond_the_search_window_is_400(api: OrgClient, sandbox: Any) -> None:
    sandbox.admin("PATCH", f"/organizations/{api.organization_id}", json={"search_window": 3})
    for day in (1, 2, 3, 4):
        api.create_invoice(invoice_body(voucherDate=f"2025-03-0{day}T00:00:00.000+01:00"))
    response = api.get("/v1/voucherlist", params=DRAFTS)
    assert response.status_code == 400
    assert response.json()["message"] == "Maximum search window size exceeded"
    assert response.json()["traceId"]
    narrowed = listing(api, voucherDateFrom="2025-03-02")
    assert narrowed["totalElements"] == 3
