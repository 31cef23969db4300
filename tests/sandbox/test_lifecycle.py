"""The accountant's side over real HTTP: finalize, pay, pay off, void and delete a draft through /_admin,
and what /v1/voucherlist and GET /v1/invoices then show."""

from __future__ import annotations

from typing import Any

import requests

from tests.sandbox.support import OrgClient, invoice_body
from tests.support.sandbox_server import SandboxServer


def _act(api: OrgClient, invoice_id: str, action: str, **body: Any) -> requests.Response:
    return requests.post(f"{api.base_url}/_admin/organizations/{api.organization_id}/invoices/{invoice_id}/{action}",
                         json=body or None, timeout=10)


def _listed(api: OrgClient) -> dict[str, dict[str, Any]]:
    page = api.get("/v1/voucherlist", params={"voucherType": "invoice", "voucherStatus": "any", "size": 250}).json()
    return {item["id"]: item for item in page["content"]}


def test_finalize_gives_a_voucher_number_and_due_date(api: OrgClient) -> None:
    first, second = api.create_invoice(), api.create_invoice(invoice_body(paymentConditions={
        "paymentTermLabel": "14 Tage", "paymentTermDuration": 14}))
    assert _listed(api)[first]["voucherNumber"] is None
    assert _act(api, first, "finalize").json()["voucherNumber"] == "RE0001"
    finalized = _act(api, second, "finalize").json()
    assert (finalized["voucherNumber"], finalized["voucherStatus"], finalized["version"]) == ("RE0002", "open", 1)
    assert finalized["dueDate"].startswith("2025-03-15")
    listed = _listed(api)
    assert (listed[first]["voucherStatus"], listed[first]["voucherNumber"], listed[first]["openAmount"]) == (
        "open", "RE0001", 119)
    assert api.get(f"/v1/invoices/{second}").json()["voucherNumber"] == "RE0002"


def test_pay_pay_off_and_void_settle_an_open_invoice(api: OrgClient) -> None:
    ids = [api.create_invoice() for _ in range(3)]
    for invoice_id, action in zip(ids, ("pay", "pay-off", "void")):
        assert _act(api, invoice_id, "finalize").status_code == 200
        assert _act(api, invoice_id, action).status_code == 200
    listed = _listed(api)
    assert [listed[i]["voucherStatus"] for i in ids] == ["paid", "paidoff", "voided"]
    assert [listed[i]["openAmount"] for i in ids] == [0, 0, 0]
    paid = api.get("/v1/voucherlist", params={"voucherType": "invoice", "voucherStatus": "paid"}).json()
    assert [item["id"] for item in paid["content"]] == [ids[0]]


def test_only_a_draft_can_be_deleted_and_then_it_is_gone(sandbox: SandboxServer, api: OrgClient) -> None:
    draft, finalized = api.create_invoice(), api.create_invoice()
    _act(api, finalized, "finalize")
    url = f"{api.base_url}/_admin/organizations/{api.organization_id}/invoices"
    refused = requests.delete(f"{url}/{finalized}", timeout=10)
    assert refused.status_code == 409 and "void it instead" in refused.json()["detail"]
    assert requests.delete(f"{url}/{draft}", timeout=10).json() == {"deleted": draft}
    assert api.get(f"/v1/invoices/{draft}").status_code == 404
    assert set(_listed(api)) == {finalized}
    assert requests.delete(f"{url}/{draft}", timeout=10).status_code == 404


def test_changes_out_of_order_are_refused(api: OrgClient) -> None:
    invoice_id = api.create_invoice()
    for action in ("pay", "pay-off", "void"):
        refused = _act(api, invoice_id, action)
        assert refused.status_code == 409 and "'draft'" in refused.json()["detail"]
    _act(api, invoice_id, "finalize")
    assert _act(api, invoice_id, "finalize").status_code == 409
    _act(api, invoice_id, "void")
    assert _act(api, invoice_id, "pay").status_code == 409
    assert _act(api, invoice_id, "approve").status_code == 404


def test_an_overdue_invoice_is_found_by_the_overdue_filter(api: OrgClient) -> None:
    overdue, current = api.create_invoice(), api.create_invoice()
    _act(api, overdue, "finalize", due_date="2025-03-10")
    _act(api, current, "finalize", due_date="2999-01-01")
    found = api.get("/v1/voucherlist", params={"voucherType": "invoice", "voucherStatus": "overdue"}).json()
    assert [item["id"] for item in found["content"]] == [overdue]


def test_updated_date_moves_and_sorts(api: OrgClient) -> None:
    older, newer = api.create_invoice(), api.create_invoice()
    _act(api, older, "finalize")
    page = api.get("/v1/voucherlist", params={"voucherType": "invoice", "voucherStatus": "any",
                                              "sort": "updatedDate,DESC"}).json()
    assert [item["id"] for item in page["content"]] == [older, newer]


def test_a_deleted_draft_stays_deleted_after_a_restart(tmp_path: Any) -> None:
    server = SandboxServer.start("--state", f"sqlite:///{tmp_path / 'sandbox.db'}")
    try:
        created = server.admin("POST", "/organizations", json={"company_name": "A", "rate_limit_per_second": None})
        api = OrgClient(server, created["organization_id"], created["api_key"], created["connection_id"])
        kept, deleted = api.create_invoice(), api.create_invoice()
        _act(api, kept, "finalize")
        server.admin("DELETE", f"/organizations/{api.organization_id}/invoices/{deleted}")
    finally:
        server.stop()
    server = SandboxServer.start("--state", f"sqlite:///{tmp_path / 'sandbox.db'}")
    try:
        api.server = server
        assert api.get(f"/v1/invoices/{deleted}").status_code == 404
        assert api.get(f"/v1/invoices/{kept}").json()["voucherNumber"] == "RE0001"
    finally:
        server.stop()
