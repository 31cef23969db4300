"""Contact read-after-write lag over real HTTP: a new contact is invisible for a while, then appears."""

from __future__ import annotations

import time

from tests.sandbox.support import OrgClient, company_contact, invoice_body, violation_fields
from tests.support.sandbox_server import SandboxServer


def test_new_contact_is_invisible_during_the_lag_then_visible(sandbox: SandboxServer, api: OrgClient) -> None:
    sandbox.admin("POST", "/contact-read-lag", json={"seconds": 0.4})
    created_at = time.monotonic()
    contact_id = api.create_contact(company_contact())
    assert api.get(f"/v1/contacts/{contact_id}").status_code == 404
    assert api.get("/v1/contacts", params={"name": "Testfirma"}).json()["totalElements"] == 0
    reference = invoice_body(address={"contactId": contact_id})
    assert violation_fields(api.post("/v1/invoices", json=reference)) == {"address.contactId"}
    assert time.monotonic() - created_at < 0.4, "the checks above took longer than the lag"

    time.sleep(max(0.0, 0.45 - (time.monotonic() - created_at)))
    assert api.get(f"/v1/contacts/{contact_id}").status_code == 200
    assert api.get("/v1/contacts", params={"name": "Testfirma"}).json()["totalElements"] == 1
    assert api.post("/v1/invoices", json=reference).status_code == 201


def test_lag_applies_only_to_contacts_created_after_it_was_set(sandbox: SandboxServer, api: OrgClient) -> None:
    before = api.create_contact()
    sandbox.admin("POST", "/contact-read-lag", json={"seconds": 30})
    assert api.get(f"/v1/contacts/{before}").status_code == 200
    # the write itself happened: the admin view sees it at once
    after = api.create_contact()
    assert after in [c["id"] for c in api.inspect("contacts")]
    assert api.get(f"/v1/contacts/{after}").status_code == 404
