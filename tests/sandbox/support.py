"""A thin HTTP client for the sandbox tests: one organisation's API key, real requests over 127.0.0.1."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import requests

from tests.support.sandbox_server import SandboxServer


@dataclass
class OrgClient:
    """Calls /v1 as one organisation, like a Lexware client with an API key would."""

    server: SandboxServer
    organization_id: str
    api_key: str
    connection_id: str

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json",
                   **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 10)
        return self.server.session.request(method, f"{self.base_url}{path}", headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def inspect(self, collection: str) -> Any:
        return self.server.admin("GET", f"/organizations/{self.organization_id}/{collection}")

    def create_contact(self, body: dict[str, Any] | None = None) -> str:
        response = self.post("/v1/contacts", json=body or person_contact())
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def create_invoice(self, body: dict[str, Any] | None = None, **params: str) -> str:
        response = self.post("/v1/invoices", json=body or invoice_body(), params=params)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


def create_org(server: SandboxServer, **settings: Any) -> OrgClient:
    """An organisation; unless the test is about the rate limit, without one so tests run fast."""
    spec = {"company_name": "Testfirma GmbH", "rate_limit_per_second": None, **settings}
    created = server.admin("POST", "/organizations", json=spec)
    return OrgClient(server, created["organization_id"], created["api_key"], created["connection_id"])


def person_contact(**overrides: Any) -> dict[str, Any]:
    """The person example of reference §8.4."""
    body = {"version": 0, "roles": {"customer": {}},
            "person": {"salutation": "Frau", "firstName": "Inge", "lastName": "Musterfrau"}, "note": "Notizen"}
    body.update(overrides)
    return body


def company_contact(**overrides: Any) -> dict[str, Any]:
    """The company example of reference §8.4."""
    body = {"version": 0, "roles": {"customer": {}},
            "company": {"name": "Testfirma GmbH", "vatRegistrationId": "DE123456789", "allowTaxFreeInvoices": False,
                        "contactPersons": [{"firstName": "Max", "lastName": "Mustermann", "primary": True,
                                            "emailAddress": "max@example.org"}]},
            "addresses": {"billing": [{"street": "Hauptstr. 5", "zip": "12345", "city": "Musterort",
                                       "countryCode": "DE"}]},
            "emailAddresses": {"business": ["invoice@example.org"]}}
    body.update(overrides)
    return body


REFERENCE_INVOICE: dict[str, Any] = {  # reference §6.9, verbatim
    "voucherDate": "2023-02-22T00:00:00.000+01:00",
    "address": {"name": "Bike & Ride GmbH & Co. KG", "supplement": "Gebäude 10", "street": "Musterstraße 42",
                "city": "Freiburg", "zip": "79112", "countryCode": "DE"},
    "lineItems": [
        {"type": "custom", "name": "Energieriegel Testpaket", "quantity": 1, "unitName": "Stück",
         "unitPrice": {"currency": "EUR", "netAmount": 5, "taxRatePercentage": 0}, "discountPercentage": 0},
        {"type": "text", "name": "Strukturieren Sie Ihre Belege durch Text-Elemente.",
         "description": "Das hilft beim Verständnis"},
    ],
    "totalPrice": {"currency": "EUR"},
    "taxConditions": {"taxType": "net"},
    "paymentConditions": {"paymentTermLabel": "10 Tage - 3 %, 30 Tage netto", "paymentTermDuration": 30,
                          "paymentDiscountConditions": {"discountPercentage": 3, "discountRange": 10}},
    "shippingConditions": {"shippingDate": "2023-04-22T00:00:00.000+02:00", "shippingType": "delivery"},
    "title": "Rechnung",
    "introduction": "Ihre bestellten Positionen stellen wir Ihnen hiermit in Rechnung",
    "remark": "Vielen Dank für Ihren Einkauf",
}


def invoice_body(**overrides: Any) -> dict[str, Any]:
    """A valid net invoice with a one-time address; ``overrides`` replace top-level fields."""
    body = {
        "voucherDate": "2025-03-01T00:00:00.000+01:00",
        "address": {"name": "Bike & Ride GmbH & Co. KG", "countryCode": "DE"},
        "lineItems": [priced_line()],
        "totalPrice": {"currency": "EUR"},
        "taxConditions": {"taxType": "net"},
        "shippingConditions": {"shippingType": "none"},
        "remark": "source RE-2025-0001",
    }
    body.update(copy.deepcopy(overrides))
    return body


def priced_line(net: Any = 100, rate: Any = 19, quantity: Any = 1, **overrides: Any) -> dict[str, Any]:
    line = {"type": "custom", "name": "Schädlingsbekämpfung", "quantity": quantity, "unitName": "Stück",
            "unitPrice": {"currency": "EUR", "netAmount": net, "taxRatePercentage": rate}}
    line.update(overrides)
    return line


def violation_fields(response: requests.Response) -> set[str]:
    assert response.status_code == 406, response.text
    return {d["field"] for d in response.json()["details"]}


def issue_sources(response: requests.Response) -> set[str | None]:
    return {issue["source"] for issue in response.json()["IssueList"]}
