"""Look-alike customers each get their own Lexware contact, and every invoice lands on its own customer.

Measured before the fix: contacts were adopted by name alone or e-mail alone, so the second "Anna Schmidt",
the second firm using the same bookkeeper's e-mail and the second firm of the same name got the first one's
contact (and address). Checked against the sandbox's stored contacts and invoices, not the outbox.
"""

from __future__ import annotations

import pytest

from lexoffice.client import RetryPolicy
from tests.client.sandbox_helpers import api_key_client
from tests.reliability.audit import audit
from tests.reliability.corpus import update
from tests.reliability.scenarios import INVOICES_DAG, nightly
from tests.reliability.world import ReliabilityWorld
from tests.support import sources as src

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

DAY = "2026-10-05"
SHARED_EMAIL = "buchhaltung@steuerbuero-klein.example"
# customer id -> (kind, name, street, e-mail)
CUSTOMERS = {
    "anna-1": ("person", "Schmidt", "Lindenallee 3", None),
    "anna-2": ("person", "Schmidt", "Gartenweg 17", None),  # same name, other address
    "firm-a": ("company", "Hafenbäckerei GmbH", "Kaistraße 1", SHARED_EMAIL),
    "firm-b": ("company", "Werft Nord AG", "Dock 4", SHARED_EMAIL),  # same bookkeeper's e-mail
    "meyer-1": ("company", "Meyer GmbH", "Ringstraße 8", None),
    "meyer-2": ("company", "Meyer GmbH", "Bahnhofstraße 2", None),  # same firm name, other address
}


def test_look_alike_customers_get_their_own_contacts(world: ReliabilityWorld) -> None:
    fs = world.engine(world.fieldservice_url)
    src.company(fs, "c1")
    for customer_id, (kind, name, street, email) in CUSTOMERS.items():
        src.customer(fs, customer_id, "c1", name=name, kind=kind, email=email)
        update(fs, "customers", customer_id, street=street)
        src.draft(fs, f"d-{customer_id}", "c1", customer_id, created=DAY)
    info = world.add_tenant("look", company_id="c1", streams=("invoices",))
    # Lexware already knows "Meyer GmbH" at Ringstraße 8 (entered by the accountant): the same name AND address
    # is a strong identity, so it is adopted; the other Meyer GmbH gets a contact of its own.
    client = api_key_client(world.sandbox, {"api_key": info.api_key}, retry=RetryPolicy())  # no burst: ordinary backoff
    existing = client.create_contact({"version": 0, "roles": {"customer": {}}, "company": {"name": "Meyer GmbH"},
                                      "addresses": {"billing": [{"street": "Ringstraße 8", "zip": "50667",
                                                                 "city": "Köln", "countryCode": "DE"}]}})

    runs = world.run_until_settled(INVOICES_DAG, "look", "invoices", logical_date=nightly(DAY))
    assert runs == ["success"], runs

    audit(world, "look", "invoices", case="look-alike customers (same name, same e-mail, same firm name)",
          valid=[f"d-{c}" for c in CUSTOMERS]).check()
    contacts = {c["id"]: c for c in world.lexware("look", "contacts")}
    assert len(contacts) == len(CUSTOMERS), [c.get("company") or c.get("person") for c in contacts.values()]
    for invoice in world.lexware("look", "invoices"):
        customer_id = next(c for c in CUSTOMERS if f"lxa:draft:d-{c}" in invoice["remark"])
        contact = contacts[invoice["address"]["contactId"]]
        assert contact["addresses"]["billing"][0]["street"] == CUSTOMERS[customer_id][2], (customer_id, contact)
        if customer_id == "meyer-1":
            assert contact["id"] == existing["id"]
