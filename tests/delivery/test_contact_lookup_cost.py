"""Contact lookups cost one filtered request per new customer, not one request per 250 existing contacts
(issue 21 item 4). Against the sandbox with 760 existing customers: the old full listing read 4 pages per run;
now each unmapped customer is one name search (with '&' HTML-then-URL encoded), and the strong-identity rule
still holds (adopted on the same name AND address, a name alone gets its own contact)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from lexoffice.delivery.contacts import ContactResolver, literal_search
from lexoffice.state import make_engine, tenants
from lexoffice.state.db import init_db
from tests.client.sandbox_helpers import api_key_client, contact_body, create_org, request_log, stored

pytestmark = pytest.mark.timeout(300)

EXISTING = 760  # four pages of 250 for a full listing


def _company(name: str, street: str = "Hauptstr. 5") -> dict[str, Any]:
    body = contact_body(name=name)
    body["addresses"]["billing"][0]["street"] = street
    return body


def _related(key: str, contact: dict[str, Any]) -> dict[str, Any]:
    return {"customer_key": key, "lookup": {"name": contact["company"]["name"], "email": "x@example.org"},
            "contact": contact}


@pytest.fixture
def state(tmp_path: Any) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
    init_db(engine)
    tenants.add_tenant(engine, tenant_id="acme", name="Acme GmbH", lexoffice_conn_id="lexoffice_acme")
    return engine


def test_unmapped_customers_cost_one_search_each_however_many_contacts_exist(state: sa.Engine, sandbox: Any) -> None:
    org = create_org(sandbox)
    client = api_key_client(sandbox, org)
    for n in range(EXISTING):
        client.create_contact(_company(f"Bestandskunde {n:04d} GmbH"))
    bike = client.create_contact(_company("Bike & Ride GmbH & Co. KG", street="Radweg 1"))
    client.create_contact(_company("Anna_Schmidt% KG", street="Elsewhere 9"))  # same name, other address
    before = len(request_log(sandbox, org, "/v1/contacts"))

    resolver = ContactResolver(state, client, "acme")
    adopted = resolver.resolve(_related("K-1", _company("Bike & Ride GmbH & Co. KG", street="Radweg 1")))
    created = resolver.resolve(_related("K-2", _company("Anna_Schmidt% KG", street="Am Markt 2")))
    again = resolver.resolve(_related("K-1", _company("Bike & Ride GmbH & Co. KG", street="Radweg 1")))

    assert adopted == again == bike["id"], "same name and address: the existing customer is adopted"
    contacts = stored(sandbox, org, "contacts")
    assert created not in (c["id"] for c in contacts[:-1]) and len(contacts) == EXISTING + 3, \
        "a name alone is not an identity: K-2 gets its own contact"
    calls = [e for e in request_log(sandbox, org, "/v1/contacts")][before:]
    searches = [e for e in calls if e["method"] == "GET"]
    assert len(searches) == 2, f"one search per unmapped customer, not a listing of {EXISTING} contacts: {calls}"
    assert [e["method"] for e in calls].count("POST") == 1


def test_literal_search_escapes_lexware_wildcards() -> None:
    assert literal_search("Anna_Schmidt 100%") == "Anna\\_Schmidt 100\\%"
    assert literal_search("a\\b") == "a\\\\b"
