"""Every typed call of LexofficeClient against the sandbox, over real HTTP."""

from __future__ import annotations

from datetime import date

import pytest

from lexoffice.client import LexofficeClient
from lexoffice.client.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    ValidationRejectedError,
)
from tests.client.sandbox_helpers import (
    account_body,
    api_key_client,
    contact_body,
    create_org,
    invoice_body,
    request_log,
    stored,
    transaction_body,
)


@pytest.fixture
def org(sandbox):
    return create_org(sandbox, tax_type="net")


@pytest.fixture
def client(sandbox, org):
    with api_key_client(sandbox, org) as c:
        yield c


def test_profile(client: LexofficeClient, org) -> None:
    profile = client.get_profile()
    assert profile["organizationId"] == org["organization_id"]
    assert profile["companyName"] == org["company_name"]
    assert profile["smallBusiness"] is False and profile["taxType"] == "net"


def test_wrong_api_key_is_an_authentication_error_without_retries(sandbox, org) -> None:
    with api_key_client(sandbox, {"api_key": "not-the-right-key-123"}) as client:
        with pytest.raises(AuthenticationError) as info:
            client.get_profile()
    assert info.value.status == 401
    assert "API key" in str(info.value)


# ---------------------------------------------------------------- contacts


def test_contact_create_get_find(client: LexofficeClient) -> None:
    created = client.create_contact(contact_body("Bike & Ride GmbH & Co. KG", "buchhaltung@bike-ride.example"))
    assert set(created) >= {"id", "resourceUri", "createdDate", "updatedDate", "version"}
    client.create_contact(contact_body("Andere Firma AG", "info@andere.example"))
    contact = client.get_contact(created["id"])
    assert contact["company"]["name"] == "Bike & Ride GmbH & Co. KG"

    by_name = client.find_contacts(name="Bike & Ride")  # needs the HTML-then-URL encoding of "&"
    assert [c["id"] for c in by_name] == [created["id"]]
    by_email = client.find_contacts(email="buchhaltung@bike")
    assert [c["id"] for c in by_email] == [created["id"]]
    assert client.find_contacts(name="Nobody here") == []
    number = contact["roles"]["customer"]["number"]
    assert [c["id"] for c in client.find_contacts(number=number)] == [created["id"]]
    assert len(client.find_contacts(customer=True)) == 2
    assert client.find_contacts(vendor=True) == []


def test_find_contacts_reads_every_page(client: LexofficeClient) -> None:
    ids = {client.create_contact(contact_body(f"Seitenfirma {i}", f"s{i}@seiten.example"))["id"] for i in range(5)}
    found = client.find_contacts(email="@seiten.example", page_size=2)
    assert {c["id"] for c in found} == ids
    assert len(found) == 5


@pytest.mark.parametrize("kwargs", [{"email": "ab"}, {"name": " x "}, {"name": ""}])
def test_search_strings_shorter_than_three_characters_are_refused(client: LexofficeClient, kwargs) -> None:
    with pytest.raises(ValueError, match="at least 3 characters"):
        client.find_contacts(**kwargs)


def test_contact_validation_uses_the_legacy_issue_list(client: LexofficeClient) -> None:
    body = contact_body()
    body["company"] = {}
    with pytest.raises(ValidationRejectedError) as info:
        client.create_contact(body)
    err = info.value
    assert err.status in (400, 406)
    assert err.issues, "the IssueList must become issues"
    assert any(issue.field and issue.field.startswith("company") for issue in err.issues)
    assert str(err).startswith("Lexware rejected the contact: company")


def test_update_contact_applies_the_change(client: LexofficeClient) -> None:
    created = client.create_contact(contact_body())
    before = client.get_contact(created["id"])["version"]
    result = client.update_contact(created["id"], lambda c: {**c, "note": "Kunde seit 2019"})
    assert result["id"] == created["id"]
    after = client.get_contact(created["id"])
    assert after["note"] == "Kunde seit 2019"
    assert after["version"] == before + 1


def test_update_contact_retries_a_version_conflict(client: LexofficeClient, sandbox, org) -> None:
    created = client.create_contact(contact_body())
    other = api_key_client(sandbox, org)
    calls: list[int] = []

    def change(contact: dict) -> dict:
        calls.append(contact["version"])
        if len(calls) == 1:  # someone else saves the contact between our read and our write
            other.update_contact(created["id"], lambda c: {**c, "note": "von woanders"})
        contact["company"]["name"] = "Umbenannt GmbH"
        return contact

    client.update_contact(created["id"], change)
    assert len(calls) == 2 and calls[1] > calls[0]
    final = client.get_contact(created["id"])
    assert final["company"]["name"] == "Umbenannt GmbH"
    assert final["note"] == "von woanders"  # the other writer's change survived: we re-read before writing
    puts = [e for e in request_log(sandbox, org) if e["method"] == "PUT"]
    assert [e["status"] for e in puts] == [200, 409, 200]


def test_update_contact_gives_up_after_max_conflict_retries(client: LexofficeClient, sandbox, org) -> None:
    created = client.create_contact(contact_body())
    other = api_key_client(sandbox, org)

    def always_overtaken(contact: dict) -> dict:
        other.update_contact(created["id"], lambda c: {**c, "note": f"v{c['version']}"})
        return {**contact, "note": "ours"}

    with pytest.raises(ConflictError) as info:
        client.update_contact(created["id"], always_overtaken, max_conflict_retries=1)
    assert info.value.status == 409


# ---------------------------------------------------------------- invoices


def test_create_draft_and_get_it(client: LexofficeClient, sandbox, org) -> None:
    created = client.create_invoice(invoice_body(remark="Quelle: RE-2025-0042"))
    assert set(created) >= {"id", "resourceUri", "createdDate", "updatedDate", "version"}
    invoice = client.get_invoice(created["id"])
    assert invoice["voucherStatus"] == "draft"
    assert invoice["remark"] == "Quelle: RE-2025-0042"
    assert invoice["totalPrice"]["totalNetAmount"] == 100.0
    assert invoice["totalPrice"]["totalGrossAmount"] == 119.0
    assert [i["id"] for i in stored(sandbox, org, "invoices")] == [created["id"]]


def test_create_finalized(client: LexofficeClient) -> None:
    created = client.create_invoice(invoice_body(), finalize=True)
    assert client.get_invoice(created["id"])["voucherStatus"] == "open"


def test_invoice_for_a_contact(client: LexofficeClient) -> None:
    contact = client.create_contact(contact_body())
    created = client.create_invoice(invoice_body(contact_id=contact["id"]))
    assert client.get_invoice(created["id"])["address"]["contactId"] == contact["id"]


def test_invoice_validation_names_the_field(client: LexofficeClient, sandbox, org) -> None:
    body = invoice_body()
    del body["lineItems"][0]["unitPrice"]["taxRatePercentage"]
    with pytest.raises(ValidationRejectedError) as info:
        client.create_invoice(body)
    err = info.value
    assert err.status == 406
    assert err.trace_id
    assert any(i.field == "lineItems[0].unitPrice.taxRatePercentage" for i in err.issues)
    assert str(err).startswith("Lexware rejected the invoice: lineItems[0].unitPrice.taxRatePercentage")
    assert stored(sandbox, org, "invoices") == []
    assert len(request_log(sandbox, org, "/v1/invoices")) == 1  # a 406 is never retried


def test_unknown_invoice_is_not_found(client: LexofficeClient) -> None:
    with pytest.raises(NotFoundError) as info:
        client.get_invoice("00000000-0000-0000-0000-000000000000")
    assert info.value.status == 404


def test_ids_cannot_escape_their_path_segment(client: LexofficeClient, sandbox, org) -> None:
    with pytest.raises(NotFoundError):
        client.get_invoice("../profile")
    assert request_log(sandbox, org)[-1]["path"] != "/v1/profile"


# ---------------------------------------------------------------- voucherlist


def test_voucherlist_reads_every_page(client: LexofficeClient) -> None:
    ids = {client.create_invoice(invoice_body(remark=f"RE-{i}"))["id"] for i in range(5)}
    found = list(client.iter_voucherlist(voucher_type="invoice", voucher_status="draft", page_size=2))
    assert {v["id"] for v in found} == ids and len(found) == 5
    assert all(v["voucherStatus"] == "draft" for v in found)


def test_voucherlist_splits_the_date_range_over_the_search_window(client: LexofficeClient, sandbox, org) -> None:
    sandbox.admin("PATCH", f"/organizations/{org['organization_id']}", json={"search_window": 3})
    ids = set()
    for day in range(1, 9):  # one invoice per day, 1..8 March
        ids.add(client.create_invoice(invoice_body(voucher_date=f"2025-03-{day:02d}T00:00:00.000+01:00"))["id"])
    with pytest.raises(ValidationRejectedError):  # the window is really enforced
        list(client.iter_voucherlist(voucher_type="invoice", voucher_status="any"))
    found = list(client.iter_voucherlist(
        voucher_type="invoice", voucher_status="any",
        voucher_date_from=date(2025, 3, 1), voucher_date_to=date(2025, 3, 8),
    ))
    assert {v["id"] for v in found} == ids and len(found) == 8


def test_voucherlist_window_without_a_range_says_what_to_do(client: LexofficeClient, sandbox, org) -> None:
    sandbox.admin("PATCH", f"/organizations/{org['organization_id']}", json={"search_window": 1})
    client.create_invoice(invoice_body())
    client.create_invoice(invoice_body())
    with pytest.raises(ValidationRejectedError, match="give a created, voucher or updated date range"):
        list(client.iter_voucherlist(voucher_type="invoice", voucher_status="draft"))


def test_voucherlist_filters_by_created_date_and_contact(client: LexofficeClient) -> None:
    contact = client.create_contact(contact_body())
    mine = client.create_invoice(invoice_body(contact_id=contact["id"]))["id"]
    client.create_invoice(invoice_body())
    today = date.today()
    found = list(client.iter_voucherlist(
        voucher_type="invoice", voucher_status="draft", contact_id=contact["id"],
        created_from=date(today.year - 1, 1, 1), created_to=date(today.year + 1, 12, 31),
    ))
    assert [v["id"] for v in found] == [mine]
    assert list(client.iter_voucherlist(
        voucher_type="invoice", voucher_status="draft", created_from=date(2001, 1, 1), created_to=date(2001, 1, 2)
    )) == []


# ---------------------------------------------------------------- partner finance API (UNVERIFIED paths)


def test_financial_accounts_and_transactions(client: LexofficeClient, sandbox, org) -> None:
    iban = "DE02700100800030876808"
    account_id = client.create_financial_account(account_body(iban=iban, reference="acct-7"))["financialAccountId"]

    def ids(accounts: list[dict]) -> list[str]:
        return [a["financialAccountId"] for a in accounts]

    assert ids(client.find_financial_accounts(iban=iban)) == [account_id]
    assert ids(client.find_financial_accounts(external_reference="acct-7")) == [account_id]
    assert client.find_financial_accounts(iban="DE89370400440532013000") == []
    assert client.latest_transaction(account_id) is None

    created = client.push_transactions(
        [transaction_body(account_id, "txn-1"), transaction_body(account_id, "txn-2", -5.5)]
    )
    assert [t["externalReference"] for t in created] == ["txn-1", "txn-2"]
    assert all(t["lockVersion"] == 0 for t in created)
    fetched = client.get_transaction(created[0]["financialTransactionId"])
    assert fetched["externalReference"] == "txn-1" and fetched["amount"] == 120.01
    latest = client.latest_transaction(account_id)
    assert latest is not None and latest["externalReference"] == "txn-2"
    assert len(stored(sandbox, org, "transactions")) == 2


def test_push_transactions_batch_limits(client: LexofficeClient, sandbox, org) -> None:
    with pytest.raises(ValueError):
        client.push_transactions([])
    account_id = client.create_financial_account(account_body())["financialAccountId"]
    with pytest.raises(ValueError, match="at most 25"):
        client.push_transactions([transaction_body(account_id, f"t{i}") for i in range(26)])
    assert len(client.push_transactions([transaction_body(account_id, f"t{i}") for i in range(25)])) == 25
    assert [e["method"] for e in request_log(sandbox, org, "/v1/finance/transactions")] == ["POST"]


def test_transaction_validation_is_rejected(client: LexofficeClient, sandbox, org) -> None:
    account_id = client.create_financial_account(account_body())["financialAccountId"]
    with pytest.raises(ValidationRejectedError):
        client.push_transactions([transaction_body(account_id, "t0", amount=0)])
    assert stored(sandbox, org, "transactions") == []


def test_repr_shows_no_key(sandbox, org) -> None:
    with api_key_client(sandbox, org) as client:
        assert org["api_key"] not in repr(client)
        assert "***" in repr(client)
