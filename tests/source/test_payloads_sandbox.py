"""Generated documents are accepted by the local Lexware Office API (the sandbox) over real HTTP.

Delivery is not built here; the test does what it will do in its simplest form: create the contact and
put its id into the invoice, create the financial account and put its id into the transactions.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
import sqlalchemy as sa

from demo.generate import generate_bank, generate_fieldservice
from lexoffice.staging.invoices import iter_invoice_documents
from lexoffice.staging.transactions import iter_transaction_documents
from tests.support.sandbox_server import SandboxServer

BERLIN = ZoneInfo("Europe/Berlin")
WINDOW = {"start": datetime(2024, 6, 1, tzinfo=BERLIN), "end": datetime(2025, 12, 1, tzinfo=BERLIN)}


def _client(sandbox: SandboxServer) -> requests.Session:
    organisation = sandbox.admin("POST", "/organizations",
                                 json={"company_name": "Kammerjäger Nord GmbH & Co. KG", "rate_limit_per_second": None})
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {organisation['api_key']}"
    return session


def _post(session: requests.Session, sandbox: SandboxServer, path: str, body: object) -> dict:
    response = session.post(f"{sandbox.base_url}{path}", json=body, timeout=10)
    assert response.status_code in (200, 201), (path, response.status_code, response.text, body)
    return response.json()


def test_invoices_and_contacts_are_accepted(sandbox: SandboxServer, tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fs.sqlite'}")
    generate_fieldservice(engine, seed=8, companies=1, drafts_per_company=60, start=date(2025, 1, 1), days=60,
                          broken_fraction=0)
    session = _client(sandbox)
    contacts: dict[str, str] = {}
    posted = 0
    for chunk in iter_invoice_documents(engine, company_id="C001", **WINDOW):
        for document in chunk:
            assert document.is_valid, document.reasons
            key = document.related["customer_key"]
            if key not in contacts:
                contacts[key] = _post(session, sandbox, "/v1/contacts", document.related["contact"])["id"]
            with_contact = {**document.payload, "address": {**document.payload["address"], "contactId": contacts[key]}}
            created = _post(session, sandbox, "/v1/invoices", with_contact)
            stored = session.get(f"{sandbox.base_url}/v1/invoices/{created['id']}", timeout=10).json()
            assert stored["voucherStatus"] == "draft"
            assert stored["remark"].endswith(f"lxa:{document.doc_key}")
            posted += 1
    assert posted == 60
    one_time_address = document.payload  # without contactId Lexware takes the address as given
    _post(session, sandbox, "/v1/invoices", one_time_address)
    engine.dispose()


def test_financial_accounts_and_transactions_are_accepted(sandbox: SandboxServer, tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'bank.sqlite'}")
    generate_bank(engine, seed=8, companies=1, accounts_per_company=2, transactions_per_account=40,
                  start=date(2025, 1, 1), days=60, broken_fraction=0)
    session = _client(sandbox)
    accounts: dict[str, str] = {}
    batches: dict[str, list[dict]] = {}
    for chunk in iter_transaction_documents(engine, company_id="B001", **WINDOW):
        for document in chunk:
            if not document.is_valid:
                assert {r.code for r in document.reasons} == {"TXN_ACCOUNT_NOT_OWN"}
                continue
            iban = document.group_key
            if iban not in accounts:
                accounts[iban] = _post(session, sandbox, "/v1/finance/financial-accounts",
                                       document.related["account"])["financialAccountId"]
            batches.setdefault(iban, []).append({**document.payload, "financialAccountId": accounts[iban]})
    sent = 0
    for items in batches.values():
        for offset in range(0, len(items), 25):  # the finance API takes at most 25 per request
            sent += len(_post(session, sandbox, "/v1/finance/transactions", items[offset:offset + 25]))
    assert len(accounts) == 2 and sent > 60
    engine.dispose()
