"""``--state sqlite:///file``: a restarted sandbox on the same file sees the same data and credentials."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.sandbox.support import create_org, person_contact
from tests.support.sandbox_server import SandboxServer

ACCOUNT = {"type": "GIRO", "accountSystem": "PaymentProvider", "name": "Konto", "iban": "DE02700100800030876808"}


def test_restart_with_the_same_state_file_keeps_everything(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'sandbox.db'}"
    first = SandboxServer.start("--state", state)
    try:
        org = create_org(first, company_name="Persistent GmbH")
        contact_id = org.create_contact(person_contact())
        invoice_id = org.create_invoice(finalize="true")
        account_id = org.post("/v1/finance/financial-accounts", json=ACCOUNT).json()["financialAccountId"]
        org.post("/v1/finance/transactions", json=[{
            "valueDate": "2023-05-28T00:00:00+02:00", "bookingDate": "2023-05-28T00:00:00+02:00",
            "transactiondate": "2023-05-28T00:00:00+02:00", "purpose": "p", "amount": 10, "recipientOrSenderName": "s",
            "financialAccountId": account_id, "externalReference": "r1"}])
        first.admin("POST", "/oauth-clients", json={"client_id": "c", "client_secret": "s",
                                                    "redirect_uris": ["https://x.example/cb"]})
        invoice_before = org.get(f"/v1/invoices/{invoice_id}").json()
    finally:
        first.stop()

    second = SandboxServer.start("--state", state)
    try:
        org.server = second
        assert org.get("/v1/profile").json()["companyName"] == "Persistent GmbH"  # the API key survived
        assert org.get(f"/v1/invoices/{invoice_id}").json() == invoice_before
        assert org.get(f"/v1/contacts/{contact_id}").status_code == 200
        assert org.get("/v1/contacts", params={"name": "muster"}).json()["totalElements"] == 1
        latest = org.get("/v1/finance/transactions/latest-transaction", params={"financialAccountId": account_id})
        assert latest.json()["externalReference"] == "r1"
        # counters continue: the next customer number and invoice number are new ones
        second_contact = org.get(f"/v1/contacts/{org.create_contact()}").json()
        assert second_contact["roles"]["customer"]["number"] == 10001
        next_invoice = org.get(f"/v1/invoices/{org.create_invoice(finalize='true')}").json()
        assert next_invoice["voucherNumber"] != invoice_before["voucherNumber"]
        consent = requests.get(f"{second.base_url}/oauth2/authorize", params={
            "client_id": "c", "redirect_uri": "https://x.example/cb", "response_type": "code"}, timeout=10)
        assert consent.status_code == 200
    finally:
        second.stop()


def test_reset_clears_the_state_file_too(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'sandbox.db'}"
    first = SandboxServer.start("--state", state)
    try:
        create_org(first).create_invoice()
        first.reset()
    finally:
        first.stop()
    second = SandboxServer.start("--state", state)
    try:
        assert second.admin("GET", "/stats") == {"organizations": {}}
    finally:
        second.stop()
