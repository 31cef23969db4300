"""The /_admin API over real HTTP: setup, inspection, stats and reset."""

from __future__ import annotations

import requests

from tests.sandbox.support import OrgClient, create_org, invoice_body, person_contact
from tests.support.sandbox_server import SandboxServer


def test_health(sandbox: SandboxServer) -> None:
    assert sandbox.admin("GET", "/health") == {"ok": True}


def test_create_organization_with_chosen_id_and_key(sandbox: SandboxServer) -> None:
    created = sandbox.admin("POST", "/organizations", json={
        "company_name": "Kammerjäger Süd", "organization_id": "aa93e8a8-2aa3-470b-b914-caad8a255dd8",
        "api_key": "my-test-key", "tax_type": "net", "small_business": False, "search_window": 50})
    assert created["organization_id"] == "aa93e8a8-2aa3-470b-b914-caad8a255dd8"
    assert created["api_key"] == "my-test-key"
    profile = requests.get(f"{sandbox.base_url}/v1/profile", headers={"Authorization": "Bearer my-test-key"},
                           timeout=10).json()
    assert (profile["organizationId"], profile["connectionId"]) == (created["organization_id"],
                                                                    created["connection_id"])


def test_duplicate_organization_or_key_is_409(sandbox: SandboxServer) -> None:
    spec = {"company_name": "A", "organization_id": "org-a", "api_key": "key-a"}
    sandbox.admin("POST", "/organizations", json=spec)
    for clash in (spec, {**spec, "organization_id": "org-b"}):
        assert requests.post(f"{sandbox.base_url}/_admin/organizations", json=clash, timeout=10).status_code == 409


def test_unknown_setup_fields_are_refused(sandbox: SandboxServer) -> None:
    response = requests.post(f"{sandbox.base_url}/_admin/organizations",
                             json={"company_name": "A", "smallbusiness": True}, timeout=10)
    assert response.status_code == 422


def test_patch_changes_what_the_api_reports(sandbox: SandboxServer, api: OrgClient) -> None:
    sandbox.admin("PATCH", f"/organizations/{api.organization_id}",
                  json={"company_name": "Neuer Name", "small_business": True, "tax_type": "vatfree"})
    profile = api.get("/v1/profile").json()
    assert (profile["companyName"], profile["smallBusiness"], profile["taxType"]) == ("Neuer Name", True, "vatfree")


def test_additional_api_key_is_a_separate_connection(sandbox: SandboxServer, api: OrgClient) -> None:
    extra = sandbox.admin("POST", f"/organizations/{api.organization_id}/api-keys")
    profile = requests.get(f"{sandbox.base_url}/v1/profile",
                           headers={"Authorization": f"Bearer {extra['api_key']}"}, timeout=10).json()
    assert profile["organizationId"] == api.organization_id
    assert profile["connectionId"] == extra["connection_id"] != api.connection_id
    assert api.get("/v1/profile").status_code == 200  # the first key still works


def test_inspection_returns_full_stored_objects(sandbox: SandboxServer, api: OrgClient) -> None:
    contact_id = api.create_contact(person_contact())
    invoice_id = api.create_invoice()
    [invoice] = api.inspect("invoices")
    [contact] = api.inspect("contacts")
    assert (invoice["id"], contact["id"]) == (invoice_id, contact_id)
    assert invoice["createdDate"] and invoice["totalPrice"]["totalGrossAmount"] == 119
    assert contact["createdDate"]
    assert api.inspect("financial-accounts") == [] and api.inspect("transactions") == []


def test_request_log_and_stats(sandbox: SandboxServer, api: OrgClient) -> None:
    api.get("/v1/profile")
    api.post("/v1/invoices", json=invoice_body())
    log = sandbox.admin("GET", f"/organizations/{api.organization_id}/requests")
    assert [(e["method"], e["path"], e["status"]) for e in log] == [("GET", "/v1/profile", 200),
                                                                    ("POST", "/v1/invoices", 201)]
    assert log[0]["t"] <= log[1]["t"]
    stats = sandbox.admin("GET", "/stats")["organizations"][api.organization_id]
    assert stats == {"requests": 2, "rate_limited": 0, "invoices": 1, "contacts": 0, "transactions": 0,
                     "financial_accounts": 0}


def test_inspecting_an_unknown_organization_is_404(sandbox: SandboxServer) -> None:
    response = requests.get(f"{sandbox.base_url}/_admin/organizations/nope/invoices", timeout=10)
    assert response.status_code == 404


def test_reset_clears_everything(sandbox: SandboxServer) -> None:
    org = create_org(sandbox)
    org.create_invoice()
    sandbox.admin("POST", "/oauth-clients", json={"client_id": "c", "client_secret": "s",
                                                  "redirect_uris": ["https://x.example/cb"]})
    sandbox.admin("POST", "/faults", json={"mode": "before"})
    sandbox.admin("POST", "/contact-read-lag", json={"seconds": 5})
    sandbox.reset()
    assert sandbox.admin("GET", "/stats") == {"organizations": {}}
    assert sandbox.admin("GET", "/faults") == []
    assert org.get("/v1/profile").status_code == 401
    fresh = create_org(sandbox)
    contact_id = fresh.create_contact()
    assert fresh.get(f"/v1/contacts/{contact_id}").status_code == 200  # no read lag any more
    consent = requests.get(f"{sandbox.base_url}/oauth2/authorize", params={
        "client_id": "c", "redirect_uri": "https://x.example/cb", "response_type": "code"}, timeout=10)
    assert consent.status_code == 400  # the OAuth client is gone


def test_secrets_never_appear_in_admin_views(sandbox: SandboxServer) -> None:
    create_org(sandbox, api_key="very-secret-key")
    sandbox.admin("POST", "/oauth-clients", json={"client_id": "c", "client_secret": "very-secret-client",
                                                  "redirect_uris": ["https://x.example/cb"]})
    listed = requests.get(f"{sandbox.base_url}/_admin/organizations", timeout=10).text
    assert "very-secret" not in listed
