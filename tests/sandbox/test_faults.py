"""Every fault mode over real HTTP, checked against what the sandbox actually committed."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.sandbox.support import OrgClient, invoice_body
from tests.support.sandbox_server import SandboxServer
from tests.support.waiting import GENEROUS


def add_fault(sandbox: SandboxServer, **spec: Any) -> str:
    return str(sandbox.admin("POST", "/faults", json=spec)["id"])


@pytest.mark.parametrize(("status", "body"), [(500, {"message": None}), (502, {"message": "Internal server error"}),
                                              (503, {"message": "Service Unavailable"}),
                                              (504, {"message": "Endpoint request timed out"})])
def test_before_answers_the_status_without_executing_a_post(sandbox: SandboxServer, api: OrgClient, status: int,
                                                            body: dict[str, Any]) -> None:
    add_fault(sandbox, mode="before", status=status)
    response = api.post("/v1/invoices", json=invoice_body())
    assert (response.status_code, response.json()) == (status, body)
    assert api.inspect("invoices") == []
    assert api.post("/v1/invoices", json=invoice_body()).status_code == 201  # the fault was used up


def test_before_on_get(sandbox: SandboxServer, api: OrgClient) -> None:
    add_fault(sandbox, mode="before", status=503, method="GET", path="/v1/profile")
    assert api.get("/v1/profile").status_code == 503
    assert api.get("/v1/profile").status_code == 200


def test_before_429_is_a_storm_of_unexecuted_calls_with_optional_retry_after(sandbox: SandboxServer,
                                                                           api: OrgClient) -> None:
    add_fault(sandbox, mode="before", status=429, count=3, retry_after=1)
    responses = [api.post("/v1/invoices", json=invoice_body()) for _ in range(4)]
    assert [r.status_code for r in responses] == [429, 429, 429, 201]
    assert responses[0].json() == {"message": "Too Many Requests"}
    assert responses[0].headers["Retry-After"] == "1"
    assert len(api.inspect("invoices")) == 1


@pytest.mark.parametrize("status", [500, 503, 504])
def test_after_commit_executes_then_answers_the_error(sandbox: SandboxServer, api: OrgClient, status: int) -> None:
    add_fault(sandbox, mode="after_commit", status=status)
    response = api.post("/v1/invoices", json=invoice_body())
    assert response.status_code == status
    [stored] = api.inspect("invoices")
    assert stored["remark"] == "source RE-2025-0001"


def test_after_commit_on_get(sandbox: SandboxServer, api: OrgClient) -> None:
    add_fault(sandbox, mode="after_commit", status=500, method="GET", path="/v1/invoices/")
    invoice_id = api.create_invoice()
    assert api.get(f"/v1/invoices/{invoice_id}").status_code == 500
    assert api.get(f"/v1/invoices/{invoice_id}").status_code == 200


def test_drop_after_commit_breaks_the_connection_after_creating(sandbox: SandboxServer, api: OrgClient) -> None:
    add_fault(sandbox, mode="drop_after_commit")
    with pytest.raises(requests.ConnectionError):
        api.post("/v1/invoices", json=invoice_body())
    assert len(api.inspect("invoices")) == 1
    assert api.get("/v1/profile").status_code == 200  # the server itself is fine


def test_slow_after_commit_outlasts_the_client_timeout_after_creating(sandbox: SandboxServer,
                                                                      api: OrgClient) -> None:
    add_fault(sandbox, mode="slow_after_commit", delay_seconds=0.6)
    with pytest.raises(requests.ReadTimeout):
        api.post("/v1/invoices", json=invoice_body(), timeout=0.2)
    assert len(api.inspect("invoices")) == 1


def test_slow_after_commit_eventually_sends_the_normal_response(sandbox: SandboxServer, api: OrgClient) -> None:
    add_fault(sandbox, mode="slow_after_commit", delay_seconds=0.3)
    started = time.monotonic()
    response = api.post("/v1/invoices", json=invoice_body())
    assert response.status_code == 201
    assert time.monotonic() - started >= 0.3
    assert api.get(f"/v1/invoices/{response.json()['id']}").status_code == 200


def test_slow_response_does_not_block_other_requests(sandbox: SandboxServer, api: OrgClient) -> None:
    """The slow answer takes 30 s; a server it blocked could not answer the profile within the profile's own
    20 s timeout. A deadline, not a speed judgement: a free server answers in milliseconds (issue 15)."""
    add_fault(sandbox, mode="slow_after_commit", delay_seconds=30.0)
    with pytest.raises(requests.ReadTimeout):
        api.post("/v1/invoices", json=invoice_body(), timeout=0.1)
    assert api.get("/v1/profile", timeout=20).status_code == 200


def test_faults_match_method_and_path_prefix_in_order(sandbox: SandboxServer, api: OrgClient) -> None:
    add_fault(sandbox, mode="before", status=503, method="GET", path="/v1/voucherlist")
    add_fault(sandbox, mode="before", status=500, count=2)  # defaults: POST /v1/invoices
    assert api.get("/v1/profile").status_code == 200
    assert api.post("/v1/contacts", json={"version": 0}).status_code == 406  # not matched: reaches validation
    assert api.post("/v1/invoices", json=invoice_body()).status_code == 500
    remaining = sandbox.admin("GET", "/faults")
    assert [(f["method"], f["path"], f["count"]) for f in remaining] == [
        ("GET", "/v1/voucherlist", 1), ("POST", "/v1/invoices", 1)]
    assert api.post("/v1/invoices", json=invoice_body()).status_code == 500
    assert api.post("/v1/invoices", json=invoice_body()).status_code == 201


def test_null_method_and_path_match_any_request(sandbox: SandboxServer, api: OrgClient) -> None:
    add_fault(sandbox, mode="before", status=502, method=None, path=None, count=2)
    assert api.get("/v1/profile").status_code == 502
    assert api.get("/v1/contacts").status_code == 502
    assert api.get("/v1/profile").status_code == 200


def test_first_matching_fault_is_consumed_first(sandbox: SandboxServer, api: OrgClient) -> None:
    add_fault(sandbox, mode="before", status=503)
    add_fault(sandbox, mode="after_commit", status=504)
    assert api.post("/v1/invoices", json=invoice_body()).status_code == 503
    assert api.post("/v1/invoices", json=invoice_body()).status_code == 504
    assert len(api.inspect("invoices")) == 1


def test_faults_can_be_cleared(sandbox: SandboxServer, api: OrgClient) -> None:
    add_fault(sandbox, mode="before", status=500, count=5)
    sandbox.admin("DELETE", "/faults")
    assert sandbox.admin("GET", "/faults") == []
    assert api.post("/v1/invoices", json=invoice_body()).status_code == 201


def test_faults_never_hit_admin_or_oauth_routes(sandbox: SandboxServer, api: OrgClient) -> None:
    add_fault(sandbox, mode="before", status=500, method=None, path="/")
    assert sandbox.admin("GET", "/health") == {"ok": True}
    assert requests.post(f"{sandbox.base_url}/oauth2/token", timeout=10).status_code == 401
    assert api.get("/v1/profile").status_code == 500


def test_request_log_records_what_the_client_saw(sandbox: SandboxServer, api: OrgClient) -> None:
    add_fault(sandbox, mode="after_commit", status=504)
    api.post("/v1/invoices", json=invoice_body())
    [entry] = sandbox.admin("GET", f"/organizations/{api.organization_id}/requests")
    assert (entry["method"], entry["path"], entry["status"], entry["fault"]) == (
        "POST", "/v1/invoices", 504, "after_commit")
    assert abs(entry["t"] - time.time()) < GENEROUS


def test_unknown_fault_mode_is_refused(sandbox: SandboxServer) -> None:
    response = requests.post(f"{sandbox.base_url}/_admin/faults", json={"mode": "explode"}, timeout=10)
    assert response.status_code == 422


def _wait_for(predicate: Any, deadline_seconds: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_seconds
    while not predicate():
        assert time.monotonic() < deadline, "the late commit never happened"
        time.sleep(0.05)


@pytest.mark.parametrize("mode", ["late_after_error", "late_after_drop", "late_after_timeout"])
def test_late_modes_commit_only_after_the_failure_was_answered(sandbox: SandboxServer, api: OrgClient,
                                                               mode: str) -> None:
    add_fault(sandbox, mode=mode, status=504, delay_seconds=1.5)
    if mode == "late_after_error":
        assert api.post("/v1/invoices", json=invoice_body()).status_code == 504
    elif mode == "late_after_drop":
        with pytest.raises(requests.ConnectionError):
            api.post("/v1/invoices", json=invoice_body())
    else:
        with pytest.raises(requests.ReadTimeout):
            api.post("/v1/invoices", json=invoice_body(), timeout=0.3)
    # The client has its failure and the invoice is not there yet: a lookup now proves nothing.
    assert api.inspect("invoices") == []
    _wait_for(lambda: len(api.inspect("invoices")) == 1)
    [stored] = api.inspect("invoices")
    assert stored["remark"] == "source RE-2025-0001"


@pytest.mark.parametrize("path", ["/v1/contacts", "/v1/finance/financial-accounts"])
def test_late_after_error_works_for_contacts_and_accounts(sandbox: SandboxServer, api: OrgClient, path: str) -> None:
    from tests.sandbox.support import person_contact

    add_fault(sandbox, mode="late_after_error", status=504, path=path, delay_seconds=0.5)
    if path == "/v1/contacts":
        assert api.post(path, json=person_contact()).status_code == 504
        collection = "contacts"
    else:
        body = {"financialAccountId": "0f7c3b0e-1d5f-4f38-9b55-3d3c1f1f2a01", "type": "GIRO",
                "accountSystem": "PaymentProvider", "name": "Giro", "iban": "DE89370400440532013000"}
        response = api.post(path, json=body)
        assert response.status_code == 504, response.text
        collection = "financial-accounts"
    _wait_for(lambda: len(api.inspect(collection)) == 1)
