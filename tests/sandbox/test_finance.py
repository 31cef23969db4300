"""Partner finance API (unverified against partner docs) over real HTTP: accounts and transaction batches."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.sandbox.support import OrgClient, violation_fields

GIRO = {"type": "GIRO", "accountSystem": "PaymentProvider", "name": "Geschäftskonto", "bankName": "FINOM",
        "iban": "DE02 7001 0080 0030 8768 08", "externalReference": "acct-1"}


def create_account(api: OrgClient, **overrides: Any) -> str:
    response = api.post("/v1/finance/financial-accounts", json={**GIRO, **overrides})
    assert response.status_code == 201, response.text
    return str(response.json()["financialAccountId"])


def transaction(account_id: str, **overrides: Any) -> dict[str, Any]:
    """The create request of reference §10.2."""
    item = {"valueDate": "2023-05-28T00:00:00+02:00", "bookingDate": "2023-05-20T00:00:00+02:00",
            "transactiondate": "2023-05-28T00:00:00+02:00", "purpose": "verwendungszweck1", "amount": 120.01,
            "additionalInfo": "Zusatztext1", "recipientOrSenderName": "Sender1",
            "recipientOrSenderIban": "DE02700100800030876808", "recipientOrSenderBic": "PBNKDEFF",
            "financialAccountId": account_id, "externalReference": "ExtRef1"}
    item.update(overrides)
    return item


def test_create_account_answers_201_with_location_and_id(api: OrgClient) -> None:
    response = api.post("/v1/finance/financial-accounts", json=GIRO)
    assert response.status_code == 201
    account = response.json()
    account_id = account["financialAccountId"]
    assert uuid.UUID(account_id)
    assert response.headers["Location"] == f"{api.base_url}/v1/finance/accounts/{account_id}"
    fetched = api.get(f"/v1/finance/accounts/{account_id}").json()
    assert (fetched["type"], fetched["name"], fetched["iban"]) == ("GIRO", "Geschäftskonto", "DE02700100800030876808")


def test_account_id_may_be_chosen_by_the_client(api: OrgClient) -> None:
    chosen = str(uuid.uuid4())
    assert create_account(api, financialAccountId=chosen) == chosen
    duplicate = api.post("/v1/finance/financial-accounts", json={**GIRO, "financialAccountId": chosen})
    assert duplicate.status_code == 409


@pytest.mark.parametrize(("field", "value"), [("type", "CHECKING"), ("type", None), ("accountSystem", None),
                                              ("name", "")])
def test_account_needs_type_system_and_name(api: OrgClient, field: str, value: Any) -> None:
    response = api.post("/v1/finance/financial-accounts", json={**GIRO, field: value})
    assert violation_fields(response) == {field}


def test_find_accounts_by_iban_and_external_reference(api: OrgClient) -> None:
    giro = create_account(api)
    card = create_account(api, type="CREDITCARD", iban=None, externalReference="card-7")
    assert [a["financialAccountId"] for a in api.get("/v1/finance/accounts",
                                                     params={"iban": "DE02700100800030876808"}).json()] == [giro]
    assert [a["financialAccountId"] for a in api.get("/v1/finance/accounts",
                                                     params={"externalReference": "card-7"}).json()] == [card]
    assert api.get("/v1/finance/accounts", params={"iban": "DE89370400440532013000"}).json() == []


def test_reference_transaction_request_is_accepted(api: OrgClient) -> None:
    account_id = create_account(api)
    response = api.post("/v1/finance/transactions", json=[transaction(account_id)])
    assert response.status_code == 201, response.text
    [created] = response.json()
    assert uuid.UUID(created["financialTransactionId"])
    assert created["lockVersion"] == 0
    assert (created["amount"], created["externalReference"], created["transactionDate"]) == (
        120.01, "ExtRef1", "2023-05-28T00:00:00.000+02:00")
    fetched = api.get(f"/v1/finance/transactions/{created['financialTransactionId']}").json()
    assert fetched == created


def test_batch_of_25_is_accepted_and_26_refused(api: OrgClient) -> None:
    account_id = create_account(api)
    batch = [transaction(account_id, externalReference=f"ref-{i}") for i in range(26)]
    assert api.post("/v1/finance/transactions", json=batch[:25]).status_code == 201
    assert api.post("/v1/finance/transactions", json=batch).status_code == 406
    assert len(api.inspect("transactions")) == 25


def test_batch_is_atomic(api: OrgClient) -> None:
    account_id = create_account(api)
    batch = [transaction(account_id, externalReference="good"), transaction(account_id, amount=0)]
    assert violation_fields(api.post("/v1/finance/transactions", json=batch)) == {"[1].amount"}
    assert api.inspect("transactions") == []


@pytest.mark.parametrize(("overrides", "field"), [
    ({"amount": 0}, "[0].amount"),
    ({"amount": 1.005}, "[0].amount"),
    ({"valueDate": "2023-05-28T00:00:00.000+02:00"}, "[0].valueDate"),
    ({"bookingDate": "2023-05-20"}, "[0].bookingDate"),
    ({"transactiondate": None}, "[0].transactiondate"),
    ({"externalReference": ""}, "[0].externalReference"),
    ({"recipientOrSenderName": None}, "[0].recipientOrSenderName"),
])
def test_transaction_field_rules(api: OrgClient, overrides: dict[str, Any], field: str) -> None:
    account_id = create_account(api)
    assert violation_fields(api.post("/v1/finance/transactions", json=[transaction(account_id, **overrides)])) == {
        field}


def test_negative_amounts_are_outgoing_payments(api: OrgClient) -> None:
    account_id = create_account(api)
    assert api.post("/v1/finance/transactions", json=[transaction(account_id, amount=-49.9)]).status_code == 201


def test_account_must_exist_in_the_organization(api: OrgClient, make_org: Callable[..., OrgClient]) -> None:
    foreign = create_account(make_org(company_name="Andere GmbH"))
    for account_id in (foreign, str(uuid.uuid4())):
        response = api.post("/v1/finance/transactions", json=[transaction(account_id)])
        assert violation_fields(response) == {"[0].financialAccountId"}


def test_body_must_be_an_array(api: OrgClient) -> None:
    account_id = create_account(api)
    assert api.post("/v1/finance/transactions", json=transaction(account_id)).status_code == 406


def test_same_external_reference_is_not_deduplicated(api: OrgClient) -> None:
    account_id = create_account(api)
    for _ in range(2):
        assert api.post("/v1/finance/transactions", json=[transaction(account_id)]).status_code == 201
    assert [t["externalReference"] for t in api.inspect("transactions")] == ["ExtRef1", "ExtRef1"]


def test_latest_transaction_is_the_most_recently_created_of_the_account(api: OrgClient) -> None:
    account_id = create_account(api)
    other_account = create_account(api, iban=None, externalReference="acct-2")
    api.post("/v1/finance/transactions", json=[transaction(account_id, externalReference="a"),
                                               transaction(account_id, externalReference="b")])
    api.post("/v1/finance/transactions", json=[transaction(other_account, externalReference="c")])
    latest = api.get("/v1/finance/transactions/latest-transaction", params={"financialAccountId": account_id})
    assert latest.status_code == 200
    assert latest.json()["externalReference"] == "b"


def test_latest_transaction_is_404_without_transactions_and_400_without_account(api: OrgClient) -> None:
    account_id = create_account(api)
    path = "/v1/finance/transactions/latest-transaction"
    assert api.get(path, params={"financialAccountId": account_id}).status_code == 404
    assert api.get(path).status_code == 400


def test_unknown_transaction_is_404(api: OrgClient) -> None:
    assert api.get(f"/v1/finance/transactions/{uuid.uuid4()}").status_code == 404
