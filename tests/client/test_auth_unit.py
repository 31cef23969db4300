"""OAuth2Auth and the token helpers in isolation (HTTP faked with ``responses``; the sandbox tests do it for real)."""

from __future__ import annotations

import base64
import threading
from urllib.parse import parse_qs

import pytest
import responses

from lexoffice.client import (
    ApiKeyAuth,
    MemoryTokenStore,
    OAuth2Auth,
    TokenRecord,
    default_oauth_urls,
    exchange_code,
    revoke_authorization,
)
from lexoffice.client.errors import AuthenticationError, ReconnectRequiredError
from lexoffice.client.retry import RetryPolicy
from tests.support.waiting import GENEROUS

TOKEN_URL = "https://auth.example.test/oauth2/token"
CLIENT_SECRET = "client-secret-0123456789"
FAST = RetryPolicy(max_attempts=3, backoff_initial=0.001, jitter=0)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _auth(store: MemoryTokenStore, clock: Clock, **kwargs) -> OAuth2Auth:
    return OAuth2Auth(
        token_url=TOKEN_URL, client_id="client-1", client_secret=CLIENT_SECRET, store=store, store_key="tenant-a",
        retry=FAST, clock=clock, **kwargs,
    )


def _token_reply(n: int, expires_in: int = 3600, rotate: bool = True) -> dict:
    reply = {"access_token": f"access-{n:04d}-xxxxxxxx", "token_type": "Bearer", "expires_in": expires_in}
    if rotate:
        reply["refresh_token"] = f"refresh-{n:04d}-xxxxxxxx"
    return reply


@responses.activate
def test_refresh_uses_basic_auth_and_saves_the_rotated_token() -> None:
    clock = Clock()
    store = MemoryTokenStore({"tenant-a": TokenRecord(refresh_token="refresh-0000-xxxxxxxx")})
    responses.post(TOKEN_URL, json=_token_reply(1))
    auth = _auth(store, clock)
    assert auth.bearer_token() == "access-0001-xxxxxxxx"
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(f"client-1:{CLIENT_SECRET}".encode()).decode()
    assert parse_qs(sent.body) == {"grant_type": ["refresh_token"], "refresh_token": ["refresh-0000-xxxxxxxx"]}
    saved = store.load("tenant-a")
    assert saved == TokenRecord("refresh-0001-xxxxxxxx", "access-0001-xxxxxxxx", clock.now + 3600)


@responses.activate
def test_cached_until_the_lead_time_then_refreshed() -> None:
    clock = Clock()
    store = MemoryTokenStore({"tenant-a": TokenRecord(refresh_token="refresh-0000-xxxxxxxx")})
    responses.post(TOKEN_URL, json=_token_reply(1))
    responses.post(TOKEN_URL, json=_token_reply(2))
    auth = _auth(store, clock, refresh_lead_seconds=120)
    assert auth.bearer_token() == "access-0001-xxxxxxxx"
    clock.now += 3600 - 121
    assert auth.bearer_token() == "access-0001-xxxxxxxx"
    assert len(responses.calls) == 1
    clock.now += 2  # now inside the lead time
    assert auth.bearer_token() == "access-0002-xxxxxxxx"
    assert parse_qs(responses.calls[1].request.body)["refresh_token"] == ["refresh-0001-xxxxxxxx"]


@responses.activate
def test_a_token_another_worker_stored_is_used_without_refreshing() -> None:
    clock = Clock()
    store = MemoryTokenStore(
        {"tenant-a": TokenRecord("refresh-0009-xxxxxxxx", "access-0009-xxxxxxxx", clock.now + 3600)}
    )
    auth = _auth(store, clock)
    assert auth.bearer_token() == "access-0009-xxxxxxxx"
    assert len(responses.calls) == 0


@responses.activate
def test_after_a_401_the_rejected_token_is_not_reused() -> None:
    clock = Clock()
    store = MemoryTokenStore(
        {"tenant-a": TokenRecord("refresh-0009-xxxxxxxx", "access-0009-xxxxxxxx", clock.now + 3600)}
    )
    responses.post(TOKEN_URL, json=_token_reply(10))
    auth = _auth(store, clock)
    rejected = auth.bearer_token()
    assert auth.renew_after_unauthorized(rejected) is True
    assert auth.bearer_token() == "access-0010-xxxxxxxx"
    assert len(responses.calls) == 1


@responses.activate
def test_refresh_token_kept_when_none_is_returned() -> None:
    clock = Clock()
    store = MemoryTokenStore({"tenant-a": TokenRecord(refresh_token="refresh-0000-xxxxxxxx")})
    responses.post(TOKEN_URL, json=_token_reply(1, rotate=False))
    _auth(store, clock).bearer_token()
    assert store.load("tenant-a").refresh_token == "refresh-0000-xxxxxxxx"


@responses.activate
def test_invalid_grant_means_reconnect() -> None:
    store = MemoryTokenStore({"tenant-a": TokenRecord(refresh_token="refresh-0000-xxxxxxxx")})
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(ReconnectRequiredError) as info:
        _auth(store, Clock()).bearer_token()
    assert "reconnect this tenant" in str(info.value)
    assert "refresh-0000" not in str(info.value)
    assert len(responses.calls) == 1  # a 400 is final


@responses.activate
def test_invalid_client_is_an_authentication_error_not_reconnect() -> None:
    store = MemoryTokenStore({"tenant-a": TokenRecord(refresh_token="refresh-0000-xxxxxxxx")})
    responses.post(TOKEN_URL, status=401, json={"error": "invalid_client"})
    with pytest.raises(AuthenticationError) as info:
        _auth(store, Clock()).bearer_token()
    assert not isinstance(info.value, ReconnectRequiredError)
    assert "client id and client secret" in str(info.value)


@responses.activate
def test_refresh_is_repeated_on_server_errors_because_it_is_harmless() -> None:
    store = MemoryTokenStore({"tenant-a": TokenRecord(refresh_token="refresh-0000-xxxxxxxx")})
    responses.post(TOKEN_URL, status=503, json={"message": None})
    responses.post(TOKEN_URL, json=_token_reply(1))
    assert _auth(store, Clock()).bearer_token() == "access-0001-xxxxxxxx"
    assert len(responses.calls) == 2


def test_nothing_stored_means_connect_first() -> None:
    with pytest.raises(ReconnectRequiredError) as info:
        _auth(MemoryTokenStore(), Clock()).bearer_token()
    assert "tenant-a" in str(info.value)


@responses.activate
def test_secrets_reach_the_on_secret_callback() -> None:
    heard: list[str] = []
    store = MemoryTokenStore({"tenant-a": TokenRecord(refresh_token="refresh-0000-xxxxxxxx")})
    responses.post(TOKEN_URL, json=_token_reply(1))
    _auth(store, Clock(), on_secret=heard.append).bearer_token()
    assert set(heard) == {CLIENT_SECRET, "refresh-0000-xxxxxxxx", "refresh-0001-xxxxxxxx", "access-0001-xxxxxxxx"}


@responses.activate
def test_exchange_code_and_revoke() -> None:
    responses.post(TOKEN_URL, json=_token_reply(5))
    record = exchange_code(
        token_url=TOKEN_URL, client_id="client-1", client_secret=CLIENT_SECRET, code="the-code-123",
        redirect_uri="https://app.example.test/cb",
    )
    assert record.refresh_token == "refresh-0005-xxxxxxxx" and record.access_token == "access-0005-xxxxxxxx"
    assert parse_qs(responses.calls[0].request.body) == {
        "grant_type": ["authorization_code"], "code": ["the-code-123"], "redirect_uri": ["https://app.example.test/cb"]
    }
    revoke_url = "https://auth.example.test/oauth2/revoke"
    responses.post(revoke_url, body="")
    revoke_authorization(
        revoke_url=revoke_url, client_id="client-1", client_secret=CLIENT_SECRET, refresh_token="refresh-0005-xxxxxxxx"
    )
    assert parse_qs(responses.calls[1].request.body) == {"token": ["refresh-0005-xxxxxxxx"]}


@responses.activate
def test_a_used_code_means_start_again() -> None:
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(ReconnectRequiredError):
        exchange_code(
            token_url=TOKEN_URL, client_id="client-1", client_secret=CLIENT_SECRET, code="used-code",
            redirect_uri="https://app.example.test/cb", retry=FAST,
        )


def test_reprs_hide_secrets() -> None:
    record = TokenRecord("refresh-secret-1234", "access-secret-1234", 5.0)
    auth = _auth(MemoryTokenStore({"tenant-a": record}), Clock())
    for text in (repr(record), str(record), repr(auth), repr(ApiKeyAuth("api-key-secret-1234"))):
        assert "secret-1234" not in text and CLIENT_SECRET not in text


def test_memory_store_hands_out_copies_and_serialises_refreshes() -> None:
    store = MemoryTokenStore()
    store.save("k", TokenRecord("refresh-a-xxxxxx"))
    loaded = store.load("k")
    loaded.refresh_token = "mutated"
    assert store.load("k").refresh_token == "refresh-a-xxxxxx"
    inside = threading.Event()
    order: list[str] = []

    def hold() -> None:
        with store.refresh_lock("k"):
            inside.set()
            threading.Event().wait(0.1)
            order.append("first")

    t = threading.Thread(target=hold)
    t.start()
    assert inside.wait(GENEROUS)
    with store.refresh_lock("k"):
        order.append("second")
    t.join()
    assert order == ["first", "second"]


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://api.lexware.io", "https://app.lexware.de/oauth2"),
        ("https://api.lexware.io/", "https://app.lexware.de/oauth2"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123/oauth2"),
        ("http://127.0.0.1:8123/", "http://127.0.0.1:8123/oauth2"),
    ],
)
def test_default_oauth_urls(base: str, expected: str) -> None:
    assert default_oauth_urls(base) == {
        "authorize": f"{expected}/authorize", "token": f"{expected}/token", "revoke": f"{expected}/revoke"
    }


def test_token_reply_without_access_token_is_an_error() -> None:
    from lexoffice.client.auth import record_from_token_response

    with pytest.raises(AuthenticationError):
        record_from_token_response({"refresh_token": "r" * 10}, previous_refresh_token=None, now=0)
