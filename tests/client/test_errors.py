"""Error bodies in both Lexware formats become typed errors with field-level issues and usable messages."""

from __future__ import annotations

import json
import pickle

import pytest

from lexoffice.client.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    Issue,
    LexofficeError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitedError,
    ReconnectRequiredError,
    ServerError,
    ValidationRejectedError,
    error_for_status,
    parse_error_body,
    resource_noun,
)

REGULAR = {
    "timestamp": "2023-05-11T17:12:31.233+02:00",
    "status": 406,
    "error": "Not Acceptable",
    "path": "/v1/invoices",
    "traceId": "90d78d0777be",
    "message": "Validation failed for request. Please see details list for specific causes.",
    "details": [
        {"violation": "NOTNULL", "field": "lineItems[0].unitPrice.taxRatePercentage", "message": "darf nicht leer sein"}
    ],
}
LEGACY = {
    "IssueList": [
        {"i18nKey": "missing_entity", "source": "company.name", "type": "validation_failure",
         "additionalData": None, "args": None}
    ]
}


def test_regular_body() -> None:
    body = parse_error_body(json.dumps(REGULAR))
    assert body.trace_id == "90d78d0777be"
    assert body.issues == [Issue("lineItems[0].unitPrice.taxRatePercentage", "NOTNULL", "darf nicht leer sein")]
    err = error_for_status(406, method="POST", path="/v1/invoices", body=body)
    assert isinstance(err, ValidationRejectedError)
    assert err.message == (
        "Lexware rejected the invoice: lineItems[0].unitPrice.taxRatePercentage: darf nicht leer sein (NOTNULL)"
    )
    assert (err.status, err.trace_id, err.method, err.path) == (406, "90d78d0777be", "POST", "/v1/invoices")
    assert "HTTP 406" in str(err) and "traceId 90d78d0777be" in str(err)


def test_legacy_issue_list() -> None:
    body = parse_error_body(json.dumps(LEGACY))
    assert body.issues == [Issue("company.name", "missing_entity", "validation_failure")]
    assert body.trace_id is None
    err = error_for_status(406, method="POST", path="/v1/contacts", body=body)
    assert isinstance(err, ValidationRejectedError)
    assert "Lexware rejected the contact: company.name: validation_failure (missing_entity)" in str(err)


def test_legacy_issue_without_source_names_the_code() -> None:
    body = parse_error_body(json.dumps({"IssueList": [{"i18nKey": "bad_request_error", "source": None, "type": None}]}))
    assert body.issues == [Issue(None, "bad_request_error", "bad_request_error")]
    assert str(body.issues[0]) == "bad_request_error"


def test_gateway_message_and_non_json() -> None:
    assert parse_error_body('{"message": "Endpoint request timed out"}').message == "Endpoint request timed out"
    assert parse_error_body('{"message": null}').message is None
    html_body = parse_error_body("<html><body>502 Bad   Gateway</body></html>")
    assert html_body.message == "<html><body>502 Bad Gateway</body></html>"
    assert parse_error_body("").message is None
    assert parse_error_body("[1, 2]").issues == []


def test_oauth_error_body() -> None:
    body = parse_error_body('{"error": "invalid_grant", "error_description": "refresh token revoked"}')
    assert body.oauth_error == "invalid_grant"
    assert body.message == "refresh token revoked"
    assert parse_error_body(json.dumps(REGULAR)).oauth_error is None


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ValidationRejectedError),
        (401, AuthenticationError),
        (402, PaymentRequiredError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (405, NotFoundError),
        (406, ValidationRejectedError),
        (409, ConflictError),
        (415, ValidationRejectedError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
        (418, LexofficeError),
    ],
)
def test_status_to_class(status: int, cls: type) -> None:
    err = error_for_status(status, method="GET", path="/v1/contacts/abc?email=x", body=parse_error_body("{}"))
    assert type(err) is cls
    assert err.status == status
    assert err.path == "/v1/contacts/abc"  # never the query string
    assert "email=x" not in str(err)


def test_reconnect_is_an_authentication_error() -> None:
    assert issubclass(ReconnectRequiredError, AuthenticationError)


def test_messages_tell_what_to_do() -> None:
    empty = parse_error_body("{}")
    assert "reconnect this tenant" in str(error_for_status(403, method="GET", path="/v1/profile", body=empty))
    assert "plan" in str(error_for_status(402, method="POST", path="/v1/invoices", body=empty))
    assert "2 requests/s" in str(error_for_status(429, method="GET", path="/v1/profile", body=empty, attempts=5))
    assert "changed since it was read" in str(error_for_status(409, method="PUT", path="/v1/contacts/1", body=empty))


def test_errors_survive_pickling() -> None:
    err = error_for_status(406, method="POST", path="/v1/invoices", body=parse_error_body(json.dumps(REGULAR)))
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is ValidationRejectedError
    assert (copy.status, copy.trace_id, copy.issues, copy.path, str(copy)) == (
        err.status, err.trace_id, err.issues, err.path, str(err)
    )
    limited = RateLimitedError("slow down", retry_after=2.0, status=429)
    assert pickle.loads(pickle.dumps(limited)).retry_after == 2.0


@pytest.mark.parametrize(
    ("path", "noun"),
    [
        ("/v1/invoices", "invoice"),
        ("/v1/invoices/1", "invoice"),
        ("/v1/contacts?name=x", "contact"),
        ("/v1/finance/transactions/latest-transaction", "latest-transaction query"),
        ("/v1/finance/transactions", "transactions"),
        ("/v1/finance/financial-accounts", "financial account"),
        ("/v1/unknown", "request"),
    ],
)
def test_resource_nouns(path: str, noun: str) -> None:
    assert resource_noun(path) == noun
