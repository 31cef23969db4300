"""OAuth2 against the sandbox: consent, code exchange, refresh with rotation, revocation, concurrent refresh."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from lexoffice.client import (
    LexofficeClient,
    MemoryTokenStore,
    OAuth2Auth,
    default_oauth_urls,
    exchange_code,
    revoke_authorization,
)
from lexoffice.client.errors import AuthenticationError, ReconnectRequiredError
from tests.client.sandbox_helpers import (
    FAST_RETRY,
    FAST_TIMEOUT,
    consent,
    create_org,
    register_oauth_client,
    request_log,
)

STORE_KEY = "tenant-oauth"


class TokenCallCounter:
    """Counts requests to the token endpoint on a real session (a response hook; nothing is faked)."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.calls = 0
        self.session.hooks["response"].append(self._count)

    def _count(self, response: requests.Response, *args, **kwargs) -> None:
        if response.request.url and response.request.url.endswith("/oauth2/token"):
            self.calls += 1


@pytest.fixture
def org(sandbox):
    return create_org(sandbox)


@pytest.fixture
def oauth_client(sandbox):
    return register_oauth_client(sandbox)


@pytest.fixture
def store(sandbox, org, oauth_client) -> MemoryTokenStore:
    """A tenant that went through consent: its first token record is stored."""
    code = consent(sandbox, oauth_client, org)
    record = exchange_code(
        token_url=default_oauth_urls(sandbox.base_url)["token"],
        client_id=oauth_client["client_id"],
        client_secret=oauth_client["client_secret"],
        code=code,
        redirect_uri=oauth_client["redirect_uri"],
    )
    memory = MemoryTokenStore()
    memory.save(STORE_KEY, record)
    return memory


def _auth(sandbox, oauth_client, store, **kwargs) -> OAuth2Auth:
    return OAuth2Auth(
        token_url=default_oauth_urls(sandbox.base_url)["token"],
        client_id=oauth_client["client_id"],
        client_secret=oauth_client["client_secret"],
        store=store,
        store_key=STORE_KEY,
        retry=FAST_RETRY,
        **kwargs,
    )


def _client(sandbox, auth: OAuth2Auth) -> LexofficeClient:
    return LexofficeClient(sandbox.base_url, auth, retry=FAST_RETRY, timeout=FAST_TIMEOUT)


def test_code_exchange_gives_a_working_authorisation(sandbox, org, oauth_client, store) -> None:
    record = store.load(STORE_KEY)
    assert record.refresh_token and record.access_token and record.access_expires_at
    counter = TokenCallCounter()
    with _client(sandbox, _auth(sandbox, oauth_client, store, session=counter.session)) as client:
        assert client.get_profile()["organizationId"] == org["organization_id"]
        client.get_profile()
    assert counter.calls == 0  # the stored access token was still fresh


def test_a_used_code_cannot_be_exchanged_again(sandbox, org, oauth_client) -> None:
    code = consent(sandbox, oauth_client, org)
    kwargs = dict(
        token_url=default_oauth_urls(sandbox.base_url)["token"], client_id=oauth_client["client_id"],
        client_secret=oauth_client["client_secret"], code=code, redirect_uri=oauth_client["redirect_uri"],
    )
    exchange_code(**kwargs)
    with pytest.raises(ReconnectRequiredError):
        exchange_code(**kwargs)


def test_expired_access_token_is_refreshed_on_401_and_the_refresh_token_rotates(
    sandbox, org, oauth_client, store
) -> None:
    before = store.load(STORE_KEY)
    counter = TokenCallCounter()
    with _client(sandbox, _auth(sandbox, oauth_client, store, session=counter.session)) as client:
        client.get_profile()
        sandbox.admin("POST", "/oauth/expire-access-tokens")
        assert client.get_profile()["organizationId"] == org["organization_id"]
    after = store.load(STORE_KEY)
    assert counter.calls == 1
    assert after.refresh_token != before.refresh_token
    assert after.access_token != before.access_token
    # The stored expiry was hours away, so only the 401 can have caused the refresh. (The sandbox logs
    # requests per organisation only once a token identifies one, so the 401 itself is not listed.)
    assert before.access_expires_at > time.time() + 600
    assert [e["status"] for e in request_log(sandbox, org, "/v1/profile")] == [200, 200]
    # The old refresh token is dead: rotation really happened at the server.
    stale = MemoryTokenStore()
    stale.save(STORE_KEY, before.__class__(refresh_token=before.refresh_token))
    with pytest.raises(ReconnectRequiredError):
        _auth(sandbox, oauth_client, stale).bearer_token()


def test_refreshes_ahead_of_expiry(sandbox, org) -> None:
    short = register_oauth_client(sandbox, client_id="short-lived", ttl=5)
    code = consent(sandbox, short, org)
    token_url = default_oauth_urls(sandbox.base_url)["token"]
    record = exchange_code(token_url=token_url, client_id="short-lived", client_secret=short["client_secret"],
                           code=code, redirect_uri=short["redirect_uri"])
    store = MemoryTokenStore({STORE_KEY: record})
    counter = TokenCallCounter()
    auth = OAuth2Auth(token_url=token_url, client_id="short-lived", client_secret=short["client_secret"],
                      store=store, store_key=STORE_KEY, refresh_lead_seconds=3.5, session=counter.session)
    with _client(sandbox, auth) as client:
        client.get_profile()
        assert counter.calls == 0  # 5 s lifetime, 3.5 s lead: fresh for the first 1.5 s
        time.sleep(1.6)  # now inside the lead time, but not yet expired
        client.get_profile()
        assert counter.calls == 1
    assert [e["status"] for e in request_log(sandbox, org, "/v1/profile")] == [200, 200]  # never a 401


def test_revoked_authorisation_means_reconnect(sandbox, org, oauth_client, store) -> None:
    with _client(sandbox, _auth(sandbox, oauth_client, store)) as client:
        client.get_profile()
        revoke_authorization(
            revoke_url=default_oauth_urls(sandbox.base_url)["revoke"], client_id=oauth_client["client_id"],
            client_secret=oauth_client["client_secret"], refresh_token=store.load(STORE_KEY).refresh_token,
        )
        with pytest.raises(ReconnectRequiredError) as info:
            client.get_profile()
    assert "reconnect this tenant" in str(info.value)
    assert isinstance(info.value, AuthenticationError)


def test_wrong_client_secret(sandbox, org, oauth_client, store) -> None:
    sandbox.admin("POST", "/oauth/expire-access-tokens")
    auth = OAuth2Auth(
        token_url=default_oauth_urls(sandbox.base_url)["token"], client_id=oauth_client["client_id"],
        client_secret="not-the-secret-000", store=store, store_key=STORE_KEY, retry=FAST_RETRY,
    )
    with _client(sandbox, auth) as client:
        with pytest.raises(AuthenticationError) as info:
            client.get_profile()
    assert not isinstance(info.value, ReconnectRequiredError)
    assert "client secret" in str(info.value)


def test_two_workers_refreshing_at_once_refresh_only_once(sandbox, org, oauth_client, store) -> None:
    """Two auth objects (two workers) share one store. With rotation, a second refresh with the same
    refresh token would get invalid_grant; the refresh lock plus the re-load prevents it."""
    sandbox.admin("POST", "/oauth/expire-access-tokens")
    before = store.load(STORE_KEY)
    counters = [TokenCallCounter() for _ in range(4)]
    clients = [_client(sandbox, _auth(sandbox, oauth_client, store, session=c.session)) for c in counters]
    start = threading.Barrier(len(clients))
    results: list[object] = []

    def work(client: LexofficeClient) -> None:
        start.wait()
        try:
            results.append(client.get_profile()["organizationId"])
        except Exception as exc:  # collected and asserted below
            results.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    for c in clients:
        c.close()
    assert results == [org["organization_id"]] * len(clients)
    assert sum(c.calls for c in counters) == 1
    assert store.load(STORE_KEY).refresh_token != before.refresh_token
