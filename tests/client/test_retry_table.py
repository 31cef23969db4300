"""The retry predicate, row by row: every status × method, every kind of transport failure.

The expectations are written out literally (not computed), so a change to the table in retry.py has to
be made here too, on purpose.
"""

from __future__ import annotations

import socket

import pytest
import requests
import urllib3
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NameResolutionError, ProtocolError

from lexoffice.client.retry import (
    Verdict,
    is_outcome_unknown,
    is_retryable,
    parse_retry_after,
    request_was_not_sent,
    verdict,
)
from tests.client.netfaults import free_port, misbehaving

SAFE_METHODS = ["GET", "HEAD", "PUT", "DELETE"]
UNSAFE_METHODS = ["POST", "PATCH"]

D, R, U, F = Verdict.DONE, Verdict.RETRY, Verdict.OUTCOME_UNKNOWN, Verdict.FAIL

# status: (verdict for GET/HEAD/PUT/DELETE, verdict for POST/PATCH)
STATUS_TABLE: dict[int, tuple[Verdict, Verdict]] = {
    200: (D, D),
    201: (D, D),
    202: (D, D),
    204: (D, D),
    302: (F, U),  # redirects are never followed: a POST answered with one may have been executed
    304: (F, U),
    400: (F, F),
    401: (F, F),  # not a retry: the client refreshes an OAuth token once, elsewhere
    402: (F, F),
    403: (F, F),
    404: (F, F),
    405: (F, F),
    406: (F, F),
    409: (F, F),
    415: (F, F),
    422: (F, F),
    429: (R, R),  # Lexware did not execute the call
    500: (R, U),
    501: (R, U),
    502: (R, U),
    503: (R, U),
    504: (R, U),  # documented: may have been processed
}


@pytest.mark.parametrize("status", sorted(STATUS_TABLE))
@pytest.mark.parametrize("method", SAFE_METHODS + UNSAFE_METHODS)
def test_status_row(method: str, status: int) -> None:
    safe_expected, unsafe_expected = STATUS_TABLE[status]
    expected = safe_expected if method in SAFE_METHODS else unsafe_expected
    assert verdict(method, status=status) is expected
    assert verdict(method.lower(), status=status) is expected
    assert is_retryable(method, status=status) is (expected is R)
    assert is_outcome_unknown(method, status=status) is (expected is U)


def test_a_repeatable_post_is_treated_like_a_get() -> None:
    assert is_retryable("POST", status=503, idempotent=True)
    assert not is_retryable("GET", status=503, idempotent=False)
    assert is_outcome_unknown("GET", status=503, idempotent=False)


def test_verdict_needs_a_status_or_an_error() -> None:
    with pytest.raises(ValueError):
        verdict("GET")


# ---- transport failures, produced by real sockets where a real socket can produce them


def _error_from(mode: str) -> requests.exceptions.RequestException:
    with misbehaving(mode) as server:
        with pytest.raises(requests.exceptions.RequestException) as info:
            requests.post(server.base_url + "/v1/invoices", json={"a": 1}, timeout=(2, 0.3))
        assert server.requests, "the server must have received the request for this row to mean anything"
    return info.value


def _refused() -> requests.exceptions.RequestException:
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        requests.post(f"http://127.0.0.1:{free_port()}/v1/invoices", json={}, timeout=(2, 2))
    return info.value


def _dns_failure() -> requests.exceptions.RequestException:
    conn = urllib3.connection.HTTPSConnection("api.lexware.invalid")
    reason = NameResolutionError("api.lexware.invalid", conn, socket.gaierror(-2, "Name or service not known"))
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/v1/invoices", reason))  # type: ignore[arg-type]


def _connect_timeout() -> requests.exceptions.RequestException:
    reason = ConnectTimeoutError(None, "Connection to api.lexware.io timed out. (connect timeout=5)")
    return requests.exceptions.ConnectTimeout(MaxRetryError(None, "/v1/invoices", reason))  # type: ignore[arg-type]


def _reset_while_sending() -> requests.exceptions.RequestException:
    return requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))


# name: (factory, sent?, verdict for GET/PUT, verdict for POST)
TRANSPORT_TABLE = {
    "connection refused": (_refused, False, R, R),
    "DNS failure": (_dns_failure, False, R, R),
    "connect timeout": (_connect_timeout, False, R, R),
    "read timeout after sending": (lambda: _error_from("hang"), True, R, U),
    "connection reset after sending": (lambda: _error_from("reset"), True, R, U),
    "body cut off": (lambda: _error_from("truncate"), True, R, U),
    "reset (constructed)": (_reset_while_sending, True, R, U),
    "TLS failure": (lambda: requests.exceptions.SSLError("certificate verify failed"), False, F, F),
    "bad URL": (lambda: requests.exceptions.InvalidURL("no host"), False, F, F),
}


@pytest.mark.parametrize("name", list(TRANSPORT_TABLE))
def test_transport_row(name: str) -> None:
    factory, sent, safe_expected, post_expected = TRANSPORT_TABLE[name]
    error = factory()
    if safe_expected is not F:
        assert request_was_not_sent(error) is (not sent)
    for method in SAFE_METHODS:
        assert verdict(method, error=error) is safe_expected, method
    for method in UNSAFE_METHODS:
        assert verdict(method, error=error) is post_expected, method


def test_non_http_exceptions_are_never_retried() -> None:
    assert verdict("GET", error=RuntimeError("bug")) is F
    assert verdict("POST", error=KeyError("x")) is F


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("", None), ("3", 3.0), ("0.25", 0.25), ("-5", 0.0), ("soon", None)],
)
def test_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_http_date() -> None:
    now = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:27 GMT", now=lambda: now) == pytest.approx(7.0)
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:00 GMT", now=lambda: now) == 0.0
