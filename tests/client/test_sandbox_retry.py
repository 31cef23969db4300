"""Every retry row against the sandbox's injected faults: what is repeated, what becomes "outcome unknown".

The sandbox's request log and stored objects show what really happened on the server side, so each row
checks both the client's answer and the number of attempts/objects.
"""

from __future__ import annotations

import time

import pytest

from lexoffice.client import ApiKeyAuth, LexofficeClient, RetryPolicy
from lexoffice.client.errors import (
    ForbiddenError,
    OutcomeUnknownError,
    PaymentRequiredError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from tests.client.netfaults import LateForwarder, free_port
from tests.client.sandbox_helpers import (
    account_body,
    add_fault,
    api_key_client,
    contact_body,
    create_org,
    invoice_body,
    request_log,
    stored,
    transaction_body,
)

RETRYABLE_STATUSES = [429, 500, 502, 503, 504]


@pytest.fixture
def org(sandbox):
    return create_org(sandbox)


@pytest.fixture
def client(sandbox, org):
    with api_key_client(sandbox, org) as c:
        yield c


# ---------------------------------------------------------------- "before": the server did not execute


@pytest.mark.parametrize("status", RETRYABLE_STATUSES)
def test_get_is_retried(client: LexofficeClient, sandbox, org, status: int) -> None:
    add_fault(sandbox, mode="before", status=status, method="GET", path="/v1/profile")
    assert client.get_profile()["organizationId"] == org["organization_id"]
    assert [e["status"] for e in request_log(sandbox, org, "/v1/profile")] == [status, 200]


@pytest.mark.parametrize("status", RETRYABLE_STATUSES)
def test_put_is_retried(client: LexofficeClient, sandbox, org, status: int) -> None:
    contact_id = client.create_contact(contact_body())["id"]
    add_fault(sandbox, mode="before", status=status, method="PUT", path="/v1/contacts/")
    client.update_contact(contact_id, lambda c: {**c, "note": "neu"})
    assert client.get_contact(contact_id)["note"] == "neu"
    puts = [e["status"] for e in request_log(sandbox, org) if e["method"] == "PUT"]
    assert puts == [status, 200]


def test_post_429_is_retried_and_creates_exactly_one_invoice(client: LexofficeClient, sandbox, org) -> None:
    add_fault(sandbox, mode="before", status=429, method="POST", path="/v1/invoices")
    created = client.create_invoice(invoice_body())
    assert [i["id"] for i in stored(sandbox, org, "invoices")] == [created["id"]]
    assert [e["status"] for e in request_log(sandbox, org, "/v1/invoices")] == [429, 201]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_post_5xx_is_outcome_unknown_and_never_repeated(client: LexofficeClient, sandbox, org, status: int) -> None:
    add_fault(sandbox, mode="before", status=status, method="POST", path="/v1/invoices")
    with pytest.raises(OutcomeUnknownError) as info:
        client.create_invoice(invoice_body())
    assert info.value.status == status
    assert "Reconcile" in str(info.value)
    assert len(request_log(sandbox, org, "/v1/invoices")) == 1
    assert stored(sandbox, org, "invoices") == []  # here the server really did nothing; the client cannot know


@pytest.mark.parametrize(("status", "error"), [(403, ForbiddenError), (402, PaymentRequiredError)])
def test_other_client_errors_are_final(client: LexofficeClient, sandbox, org, status: int, error: type) -> None:
    add_fault(sandbox, mode="before", status=status, method="GET", path="/v1/profile")
    with pytest.raises(error):
        client.get_profile()
    assert len(request_log(sandbox, org, "/v1/profile")) == 1


def test_retries_are_bounded(sandbox, org) -> None:
    add_fault(sandbox, mode="before", status=503, method="GET", path="/v1/profile", count=10)
    add_fault(sandbox, mode="before", status=429, method="POST", path="/v1/invoices", count=10)
    policy = RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=0.05, jitter=0)
    with api_key_client(sandbox, org, retry=policy) as client:
        with pytest.raises(ServerError) as server_error:
            client.get_profile()
        with pytest.raises(RateLimitedError) as limited:
            client.create_invoice(invoice_body())
    assert "after 3 attempt(s)" in str(server_error.value)
    assert limited.value.status == 429
    assert len(request_log(sandbox, org, "/v1/profile")) == 3
    assert len(request_log(sandbox, org, "/v1/invoices")) == 3
    assert stored(sandbox, org, "invoices") == []


def test_retry_after_is_honoured(client: LexofficeClient, sandbox, org) -> None:
    add_fault(sandbox, mode="before", status=429, method="GET", path="/v1/profile", retry_after=1)
    started = time.monotonic()
    client.get_profile()
    assert time.monotonic() - started >= 1.0  # FAST_RETRY alone would wait about 0.05 s
    times = [e["t"] for e in request_log(sandbox, org, "/v1/profile")]
    assert times[1] - times[0] >= 0.95


# ---------------------------------------------------------------- after the commit: executed, answer lost


@pytest.mark.parametrize("status", [500, 504])
def test_post_failing_after_commit_is_outcome_unknown(client: LexofficeClient, sandbox, org, status: int) -> None:
    add_fault(sandbox, mode="after_commit", status=status, method="POST", path="/v1/invoices")
    with pytest.raises(OutcomeUnknownError):
        client.create_invoice(invoice_body(remark="RE-504"))
    assert [i["remark"] for i in stored(sandbox, org, "invoices")] == ["RE-504"]  # it did happen
    assert len(request_log(sandbox, org, "/v1/invoices")) == 1


def test_post_dropped_after_commit_is_outcome_unknown(client: LexofficeClient, sandbox, org) -> None:
    add_fault(sandbox, mode="drop_after_commit", method="POST", path="/v1/invoices")
    with pytest.raises(OutcomeUnknownError) as info:
        client.create_invoice(invoice_body())
    assert info.value.status is None
    assert len(stored(sandbox, org, "invoices")) == 1
    assert len(request_log(sandbox, org, "/v1/invoices")) == 1


def test_post_timing_out_after_sending_is_outcome_unknown(sandbox, org) -> None:
    add_fault(sandbox, mode="slow_after_commit", method="POST", path="/v1/finance/transactions", delay_seconds=1.5)
    with api_key_client(sandbox, org, timeout=(2.0, 0.5)) as client:
        account_id = client.create_financial_account(account_body())["financialAccountId"]
        with pytest.raises(OutcomeUnknownError) as info:
            client.push_transactions([transaction_body(account_id, "txn-slow")])
    assert "ReadTimeout" in str(info.value)
    assert len(request_log(sandbox, org, "/v1/finance/transactions")) == 1
    # slow_after_commit commits before it delays the answer: the transaction exists although we gave up.
    assert [t["externalReference"] for t in stored(sandbox, org, "transactions")] == ["txn-slow"]


@pytest.mark.parametrize("mode", ["after_commit", "drop_after_commit", "slow_after_commit"])
def test_get_is_retried_whatever_happened(sandbox, org, mode: str) -> None:
    add_fault(sandbox, mode=mode, status=502, method="GET", path="/v1/profile", delay_seconds=1.0)
    with api_key_client(sandbox, org, timeout=(2.0, 0.4)) as client:
        assert client.get_profile()["organizationId"] == org["organization_id"]
    assert len(request_log(sandbox, org, "/v1/profile")) == 2


def test_put_after_commit_is_retried_and_reconciled_by_the_version_check(client: LexofficeClient, sandbox, org) -> None:
    """A retried PUT whose first attempt was executed meets a 409; update_contact re-reads and succeeds."""
    contact_id = client.create_contact(contact_body())["id"]
    add_fault(sandbox, mode="after_commit", status=500, method="PUT", path="/v1/contacts/")
    client.update_contact(contact_id, lambda c: {**c, "note": "einmal"})
    assert client.get_contact(contact_id)["note"] == "einmal"
    puts = [e["status"] for e in request_log(sandbox, org) if e["method"] == "PUT"]
    assert puts[0] == 500 and puts[-1] == 200


# ---------------------------------------------------------------- before anything was sent


def test_post_with_connection_refused_is_retried_because_nothing_was_sent(sandbox, org) -> None:
    forwarder = LateForwarder(sandbox.port, delay=0.3)
    policy = RetryPolicy(max_attempts=6, max_total_seconds=10, backoff_initial=0.1, backoff_max=0.4, jitter=0)
    try:
        with LexofficeClient(forwarder.base_url, ApiKeyAuth(org["api_key"]), retry=policy) as client:
            created = client.create_invoice(invoice_body())
    finally:
        forwarder.close()
    assert [i["id"] for i in stored(sandbox, org, "invoices")] == [created["id"]]
    assert len(request_log(sandbox, org, "/v1/invoices")) == 1


def test_unreachable_host_is_a_transport_error_not_outcome_unknown(org) -> None:
    policy = RetryPolicy(max_attempts=3, backoff_initial=0.01, jitter=0)
    with LexofficeClient(f"http://127.0.0.1:{free_port()}", ApiKeyAuth(org["api_key"]), retry=policy) as client:
        with pytest.raises(TransportError) as info:
            client.create_invoice(invoice_body())
    assert not isinstance(info.value, OutcomeUnknownError)
    assert "after 3 attempt(s)" in str(info.value)



def test_before_request_runs_before_every_attempt_and_can_stop_the_next(client: LexofficeClient, sandbox,
                                                                        org) -> None:
    """The hook delivery renews its lease in: once per attempt, retries included; an error it raises stops
    the request before anything more is sent."""
    add_fault(sandbox, mode="before", status=429, count=2, method="POST", path="/v1/invoices")
    calls: list[int] = []
    client.before_request = lambda: calls.append(len(request_log(sandbox, org, "/v1/invoices")))
    client.create_invoice(invoice_body())
    assert calls == [0, 1, 2]  # before the first POST, and before each repeat after a 429

    class Lost(Exception):
        pass

    def lost() -> None:
        raise Lost

    client.before_request = lost
    with pytest.raises(Lost):
        client.create_invoice(invoice_body())
    assert len(request_log(sandbox, org, "/v1/invoices")) == 3  # nothing more was sent
