"""``/v1/contacts`` over real HTTP: one test per contact rule of the contract, plus the reference examples."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.sandbox.support import OrgClient, company_contact, issue_sources, person_contact


def test_person_example_is_accepted_with_201_location_and_action_result(api: OrgClient) -> None:
    response = api.post("/v1/contacts", json=person_contact())
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "resourceUri", "createdDate", "updatedDate", "version"}
    assert response.headers["Location"] == body["resourceUri"] == f"{api.base_url}/v1/contacts/{body['id']}"
    contact = api.get(f"/v1/contacts/{body['id']}").json()
    assert contact["person"] == {"salutation": "Frau", "firstName": "Inge", "lastName": "Musterfrau"}
    assert contact["note"] == "Notizen"
    assert contact["version"] == 0
    assert contact["roles"]["customer"]["number"] == 10000


def test_company_example_is_accepted(api: OrgClient) -> None:
    contact_id = api.create_contact(company_contact())
    contact = api.get(f"/v1/contacts/{contact_id}").json()
    assert contact["company"]["name"] == "Testfirma GmbH"
    assert contact["company"]["contactPersons"][0]["emailAddress"] == "max@example.org"
    assert contact["addresses"]["billing"][0]["countryCode"] == "DE"


def test_created_date_is_berlin_time_with_milliseconds(api: OrgClient) -> None:
    created = api.post("/v1/contacts", json=person_contact()).json()["createdDate"]
    assert created[19] == "." and created[23] in "+-" and created[-3] == ":"
    assert created[-6:] in ("+01:00", "+02:00")


def test_customer_numbers_are_assigned_and_cannot_be_set(api: OrgClient) -> None:
    first = api.create_contact(person_contact(roles={"customer": {"number": 4711}}))
    second = api.create_contact(person_contact(roles={"customer": {}, "vendor": {}}))
    assert api.get(f"/v1/contacts/{first}").json()["roles"] == {"customer": {"number": 10000}}
    assert api.get(f"/v1/contacts/{second}").json()["roles"] == {"customer": {"number": 10001},
                                                                   "vendor": {"number": 70000}}


@pytest.mark.parametrize(("body", "source"), [
    (person_contact(version=1), "version"),
    ({k: v for k, v in person_contact().items() if k != "version"}, "version"),
])
def test_version_must_be_zero_on_create(api: OrgClient, body: dict[str, Any], source: str) -> None:
    response = api.post("/v1/contacts", json=body)
    assert response.status_code == 406
    assert source in issue_sources(response)


@pytest.mark.parametrize("roles", [None, {}, {"partner": {}}])
def test_roles_need_customer_or_vendor(api: OrgClient, roles: Any) -> None:
    body = person_contact(roles=roles)
    response = api.post("/v1/contacts", json=body)
    assert response.status_code == 406
    assert any(s and s.startswith("roles") for s in issue_sources(response))


def test_company_and_person_are_mutually_exclusive(api: OrgClient) -> None:
    both = person_contact(company={"name": "Testfirma GmbH"})
    neither = {k: v for k, v in person_contact().items() if k != "person"}
    assert issue_sources(api.post("/v1/contacts", json=both)) == {"company"}
    assert issue_sources(api.post("/v1/contacts", json=neither)) == {"company"}


def test_person_needs_last_name_and_company_needs_name(api: OrgClient) -> None:
    assert issue_sources(api.post("/v1/contacts", json=person_contact(person={"firstName": "Inge"}))) == {
        "person.lastName"}
    assert issue_sources(api.post("/v1/contacts", json=company_contact(company={"taxNumber": "1"}))) == {
        "company.name"}


@pytest.mark.parametrize("kind", ["billing", "shipping"])
def test_at_most_one_address_per_kind(api: OrgClient, kind: str) -> None:
    address = {"street": "Hauptstr. 5", "countryCode": "DE"}
    response = api.post("/v1/contacts", json=company_contact(addresses={kind: [address, address]}))
    assert response.status_code == 406
    assert issue_sources(response) == {f"addresses.{kind}"}


def test_addresses_need_a_country_code(api: OrgClient) -> None:
    response = api.post("/v1/contacts", json=company_contact(addresses={"billing": [{"city": "Musterort"}]}))
    assert response.status_code == 406
    assert issue_sources(response) == {"addresses.billing[0].countryCode"}


@pytest.mark.parametrize(("field", "value"), [
    ("emailAddresses", {"business": ["a@example.org", "b@example.org"]}),
    ("phoneNumbers", {"mobile": ["0170 1", "0170 2"]}),
])
def test_one_entry_per_email_and_phone_list(api: OrgClient, field: str, value: dict[str, list[str]]) -> None:
    response = api.post("/v1/contacts", json=company_contact(**{field: value}))
    assert response.status_code == 406
    assert issue_sources(response) == {f"{field}.{next(iter(value))}"}


def test_at_most_one_contact_person(api: OrgClient) -> None:
    person = {"lastName": "Mustermann"}
    response = api.post("/v1/contacts", json=company_contact(company={"name": "X GmbH",
                                                                      "contactPersons": [person, person]}))
    assert response.status_code == 406
    assert issue_sources(response) == {"company.contactPersons"}


def test_errors_use_the_legacy_issue_list_body(api: OrgClient) -> None:
    response = api.post("/v1/contacts", json=person_contact(version=3))
    assert response.json() == {"IssueList": [{"i18nKey": "invalid_value", "source": "version",
                                              "type": "validation_failure",
                                              "additionalData": "must be 0 when creating a contact",
                                              "args": None}]}


def test_unknown_contact_is_404_with_issue_list(api: OrgClient) -> None:
    response = api.get("/v1/contacts/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert "IssueList" in response.json()


def test_contacts_are_private_to_their_organization(api: OrgClient, make_org: Callable[..., OrgClient]) -> None:
    contact_id = api.create_contact()
    other = make_org(company_name="Andere GmbH")
    assert other.get(f"/v1/contacts/{contact_id}").status_code == 404
    assert other.get("/v1/contacts", params={"name": "muster"}).json()["totalElements"] == 0


def test_put_with_current_version_updates_and_increments(api: OrgClient) -> None:
    contact_id = api.create_contact()
    contact = api.get(f"/v1/contacts/{contact_id}").json()
    contact["person"]["firstName"] = "Ingrid"
    response = api.put(f"/v1/contacts/{contact_id}", json=contact)
    assert response.status_code == 200
    assert response.json()["version"] == 1
    updated = api.get(f"/v1/contacts/{contact_id}").json()
    assert (updated["person"]["firstName"], updated["version"]) == ("Ingrid", 1)
    assert updated["roles"] == contact["roles"]


def test_put_with_stale_version_is_409(api: OrgClient) -> None:
    contact_id = api.create_contact()
    contact = api.get(f"/v1/contacts/{contact_id}").json()
    assert api.put(f"/v1/contacts/{contact_id}", json=contact).status_code == 200
    stale = api.put(f"/v1/contacts/{contact_id}", json=contact)
    assert stale.status_code == 409
    assert issue_sources(stale) == {"version"}


def test_post_without_json_content_type_is_415(api: OrgClient) -> None:
    response = api.post("/v1/contacts", data=b'{"version": 0}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


# --- filtering -----------------------------------------------------------------------------------------------

@pytest.fixture
def directory(api: OrgClient) -> dict[str, str]:
    return {
        "inge": api.create_contact(person_contact()),
        "bike": api.create_contact(company_contact(company={"name": "Bike & Ride GmbH & Co. KG"},
                                                   emailAddresses={"office": ["buero@bike-ride.example"]})),
        "testfirma": api.create_contact(company_contact()),
        "vendor": api.create_contact(company_contact(roles={"vendor": {}}, company={"name": "Lieferant AG"})),
    }


def names(api: OrgClient, **params: str) -> list[str]:
    response = api.get("/v1/contacts", params=params)
    assert response.status_code == 200, response.text
    return [c.get("company", {}).get("name") or c["person"]["lastName"] for c in response.json()["content"]]


def test_name_filter_is_case_insensitive_substring(api: OrgClient, directory: dict[str, str]) -> None:
    assert names(api, name="MUSTERF") == ["Musterfrau"]
    assert names(api, name="gmbh") == ["Bike & Ride GmbH & Co. KG", "Testfirma GmbH"]


def test_name_filter_supports_wildcards(api: OrgClient, directory: dict[str, str]) -> None:
    assert names(api, name="test%gmbh") == ["Testfirma GmbH"]
    assert names(api, name="lief_rant") == ["Lieferant AG"]


def test_filter_values_need_at_least_three_characters(api: OrgClient, directory: dict[str, str]) -> None:
    for field in ("name", "email"):
        response = api.get("/v1/contacts", params={field: "ab"})
        assert response.status_code == 400
        assert response.json()["IssueList"][0]["i18nKey"] == "bad_request_error"


def test_ampersand_must_be_html_encoded_then_url_encoded(api: OrgClient, directory: dict[str, str]) -> None:
    assert names(api, name="Bike &amp; Ride") == ["Bike & Ride GmbH & Co. KG"]  # requests URL-encodes it
    assert names(api, name="Bike & Ride") == []  # only URL-encoded: silently nothing, as the real API


def test_email_filter_searches_lists_and_contact_persons(api: OrgClient, directory: dict[str, str]) -> None:
    assert names(api, email="buero@bike") == ["Bike & Ride GmbH & Co. KG"]
    assert names(api, email="max@example.org") == ["Testfirma GmbH"]  # only its contact person has it


def test_role_and_number_filters(api: OrgClient, directory: dict[str, str]) -> None:
    assert names(api, vendor="true") == ["Lieferant AG"]
    assert names(api, customer="false") == ["Lieferant AG"]
    assert names(api, number="10001") == ["Bike & Ride GmbH & Co. KG"]
    assert names(api, name="gmbh", customer="true") == ["Bike & Ride GmbH & Co. KG", "Testfirma GmbH"]


def test_filter_result_is_a_paging_envelope(api: OrgClient, directory: dict[str, str]) -> None:
    body = api.get("/v1/contacts", params={"size": 3, "page": 1}).json()
    assert {k: body[k] for k in ("first", "last", "totalPages", "totalElements", "numberOfElements", "size",
                                 "number")} == {"first": False, "last": True, "totalPages": 2,
                                                "totalElements": 4, "numberOfElements": 1, "size": 3, "number": 1}
    assert len(body["content"]) == 1


def test_page_size_is_at_most_250(api: OrgClient) -> None:
    assert api.get("/v1/contacts", params={"size": 250}).status_code == 200
    assert api.get("/v1/contacts", params={"size": 251}).status_code == 400
