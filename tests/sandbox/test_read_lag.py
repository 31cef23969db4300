"""Contact read-after-write lag over real HTTP: a new contact is invisible for a while, then appears."""

from __future__ import annotations

from tests.sandbox.support import OrgClient, company_contact, invoice_body, violation_fields
from tests.support.sandbox_server import SandboxServer
from tests.support.waiting import wait_until


def test_new_contact_is_invisible_during_the_lag_then_visible(sandbox: SandboxServer, api: OrgClient) -> None:
    """Invisible while the lag lasts (an hour: however loaded the machine, the checks finish within it), and
    visible once a short lag has passed (waited for, not timed). No wall-clock bound (issue 15)."""
    sandbox.admin("POST", "/contact-read-lag", json={"seconds": 3600})
    hidden = api.create_contact(company_contact())
    assert api.get(f"/v1/contacts/{hidden}").status_code == 404
    assert api.get("/v1/contacts", params={"name": "Testfirma"}).json()["totalElements"] == 0
    assert violation_fields(api.post("/v1/invoices", json=invoice_body(address={"contactId": hidden}))) == {
        "address.contactId"}

    sandbox.admin("POST", "/contact-read-lag", json={"seconds": 0.3})
    contact_id = api.create_contact(company_contact())
    wait_until(lambda: api.get(f"/v1/contacts/{contact_id}").status_code == 200, what="the contact showing")
    assert api.get("/v1/contacts", params={"name": "Testfirma"}).json()["totalElements"] == 1
    assert api.post("/v1/invoices", json=invoice_body(address={"contactId": contact_id})).status_code == 201


def test_lag_applies_only_to_contacts_created_after_it_was_set(sandbox: SandboxServer, api: OrgClient) -> None:
    before = api.create_contact()
    sandbox.admin("POST", "/contact-read-lag", json={"seconds": 30})
    assert api.get(f"/v1/contacts/{before}").status_code == 200
    # the write itself happened: the admin view sees it at once
    after = api.create_contact()
    assert after in [c["id"] for c in api.inspect("contacts")]
    assert api.get(f"/v1/contacts/{after}").status_code == 404
