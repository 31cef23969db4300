"""Building blocks for tests that talk to the sandbox: organisations, OAuth consent, request bodies, counts."""

from __future__ import annotations

import html.parser
import itertools
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from lexoffice.client import ApiKeyAuth, LexofficeClient, RetryPolicy
from tests.support.sandbox_server import SandboxServer

# Small waits so fault tests stay fast; the behaviour (which rows retry) is the same as in production.
FAST_RETRY = RetryPolicy(max_attempts=4, max_total_seconds=15, backoff_initial=0.05, backoff_max=0.2, jitter=0.02)
FAST_TIMEOUT = (2.0, 5.0)
UNLIMITED = None  # no rate limit for organisations in tests that are not about throttling

_counter = itertools.count(1)


def create_org(sandbox: SandboxServer, *, rate_limit_per_second: float | None = UNLIMITED, **fields: Any) -> dict[str, Any]:
    body = {"company_name": f"Testfirma {next(_counter)} GmbH", "rate_limit_per_second": rate_limit_per_second}
    body.update(fields)
    org = sandbox.admin("POST", "/organizations", json=body)
    org["company_name"] = body["company_name"]
    return org


def api_key_client(sandbox: SandboxServer, org: dict[str, Any], **kwargs: Any) -> LexofficeClient:
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("timeout", FAST_TIMEOUT)
    return LexofficeClient(sandbox.base_url, ApiKeyAuth(org["api_key"]), **kwargs)


def add_fault(sandbox: SandboxServer, **spec: Any) -> str:
    spec.setdefault("count", 1)
    return sandbox.admin("POST", "/faults", json=spec)["id"]


def stored(sandbox: SandboxServer, org: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """What the sandbox holds for the organisation: invoices, contacts, financial-accounts, transactions."""
    return sandbox.admin("GET", f"/organizations/{org['organization_id']}/{kind}")


def request_log(sandbox: SandboxServer, org: dict[str, Any], path: str | None = None) -> list[dict[str, Any]]:
    entries = sandbox.admin("GET", f"/organizations/{org['organization_id']}/requests")
    return [e for e in entries if path is None or e["path"] == path]


def org_stats(sandbox: SandboxServer, org: dict[str, Any]) -> dict[str, int]:
    return sandbox.admin("GET", "/stats")["organizations"][org["organization_id"]]


# ---------------------------------------------------------------- request bodies


def invoice_body(*, remark: str = "Quelle: RE-1", voucher_date: str = "2025-03-01T00:00:00.000+01:00",
                 net: float = 100.0, contact_id: str | None = None) -> dict[str, Any]:
    address: dict[str, Any] = {"contactId": contact_id} if contact_id else {
        "name": "Bike & Ride GmbH & Co. KG", "city": "Freiburg", "zip": "79112", "countryCode": "DE"
    }
    return {
        "voucherDate": voucher_date,
        "address": address,
        "lineItems": [
            {"type": "custom", "name": "Schädlingsbekämpfung", "quantity": 1, "unitName": "Stück",
             "unitPrice": {"currency": "EUR", "netAmount": net, "taxRatePercentage": 19}}
        ],
        "totalPrice": {"currency": "EUR"},
        "taxConditions": {"taxType": "net"},
        "shippingConditions": {"shippingType": "none"},
        "title": "Rechnung",
        "remark": remark,
    }


def contact_body(name: str = "Musterfirma GmbH", email: str = "rechnung@musterfirma.example") -> dict[str, Any]:
    return {
        "version": 0,
        "roles": {"customer": {}},
        "company": {"name": name},
        "addresses": {"billing": [{"street": "Hauptstr. 5", "zip": "12345", "city": "Musterort", "countryCode": "DE"}]},
        "emailAddresses": {"business": [email]},
    }


def account_body(iban: str = "DE02700100800030876808", reference: str = "acct-1") -> dict[str, Any]:
    return {
        "type": "GIRO",
        "accountSystem": "PaymentProvider",
        "name": "Geschäftskonto",
        "bankName": "Testbank",
        "iban": iban,
        "externalReference": reference,
    }


def transaction_body(account_id: str, reference: str, amount: float = 120.01) -> dict[str, Any]:
    return {
        "valueDate": "2025-05-28T00:00:00+02:00",
        "bookingDate": "2025-05-28T00:00:00+02:00",
        "transactiondate": "2025-05-28T00:00:00+02:00",
        "purpose": f"Zahlung {reference}",
        "amount": amount,
        "recipientOrSenderName": "Max Mustermann",
        "recipientOrSenderIban": "DE89370400440532013000",
        "financialAccountId": account_id,
        "externalReference": reference,
    }


# ---------------------------------------------------------------- OAuth consent, as a browser would do it


class _FormParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "post"
        self.fields: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action, self.method = a.get("action", ""), a.get("method", "post").lower()
        elif tag == "input" and a.get("name") and a.get("type", "text") not in ("submit", "button"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("name") and a.get("type") == "submit":
            self.fields.setdefault(a["name"], a.get("value", ""))
        elif tag == "button" and a.get("name"):
            self.fields.setdefault(a["name"], a.get("value", ""))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and self._select not in self.fields:
            self.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def register_oauth_client(
    sandbox: SandboxServer, *, client_id: str = "airflow-client", client_secret: str = "client-secret-4711-abcdef",
    redirect_uri: str = "https://airflow.example.test/lexoffice/callback", ttl: float | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"client_id": client_id, "client_secret": client_secret, "redirect_uris": [redirect_uri]}
    if ttl is not None:
        body["access_token_ttl_seconds"] = ttl
    sandbox.admin("POST", "/oauth-clients", json=body)
    return {"client_id": client_id, "client_secret": client_secret, "redirect_uri": redirect_uri}


def consent(sandbox: SandboxServer, oauth_client: dict[str, Any], org: dict[str, Any], state: str = "st-1") -> str:
    """Open the consent page, press "Zugriff erlauben", return the code from the redirect."""
    http = requests.Session()
    page = http.get(
        f"{sandbox.base_url}/oauth2/authorize",
        params={"client_id": oauth_client["client_id"], "redirect_uri": oauth_client["redirect_uri"],
                "response_type": "code", "state": state, "organization_id": org["organization_id"]},
        timeout=10,
    )
    page.raise_for_status()
    assert org["company_name"] in page.text, "the consent page must show the company name"
    assert "Zugriff erlauben" in page.text
    form = _FormParser()
    form.feed(page.text)
    action = urljoin(page.url, form.action or "/oauth2/authorize")
    answer = http.post(action, data=form.fields, allow_redirects=False, timeout=10)
    assert answer.status_code in (302, 303), answer.text[:300]
    location = answer.headers["Location"]
    assert location.startswith(oauth_client["redirect_uri"])
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    return query["code"][0]
