"""LexofficeHook: Airflow connection (from AIRFLOW_CONN_* env vars) -> LexofficeClient, against the sandbox."""

from __future__ import annotations

import json

import pytest
import requests

from lexoffice.client import MemoryTokenStore, default_oauth_urls, exchange_code
from lexoffice.client.errors import InsecureTransportError
from lexoffice.provider.hooks import LexofficeHook, api_base_url
from lexoffice.provider.provider_info import DEFAULT_HOST
from tests.client.sandbox_helpers import consent, create_org, register_oauth_client

CONN_ID = "lexoffice_tenant_a"


def _set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str = CONN_ID, **fields) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "lexoffice", **fields}))


@pytest.fixture
def org(sandbox):
    return create_org(sandbox)


def test_test_connection_names_the_organisation(sandbox, org, monkeypatch) -> None:
    _set_connection(monkeypatch, host=sandbox.base_url, password=org["api_key"])
    ok, message = LexofficeHook(CONN_ID).test_connection()
    assert ok is True
    assert org["company_name"] in message and org["organization_id"] in message


def test_test_connection_reports_a_wrong_key_without_showing_it(sandbox, org, monkeypatch) -> None:
    _set_connection(monkeypatch, host=sandbox.base_url, password="wrong-key-abcdef-123")
    ok, message = LexofficeHook(CONN_ID).test_connection()
    assert ok is False
    assert "API key" in message and "401" in message
    assert "wrong-key-abcdef-123" not in message


def test_default_connection_id(sandbox, org, monkeypatch) -> None:
    _set_connection(monkeypatch, "lexoffice_default", host=sandbox.base_url, password=org["api_key"])
    assert LexofficeHook().test_connection()[0] is True


def test_extras_never_become_headers(sandbox, org, monkeypatch) -> None:
    _set_connection(
        monkeypatch, host=sandbox.base_url, password=org["api_key"],
        extra={"export_since": "2024-01-01", "X-Tenant-Secret": "do-not-send-me", "oauth_token_url": None},
    )
    sent: list[requests.PreparedRequest] = []
    with LexofficeHook(CONN_ID).get_client() as client:
        client.session.hooks["response"].append(lambda response, *a, **k: sent.append(response.request))
        client.get_profile()
    assert len(sent) == 1
    headers = {name.lower(): value for name, value in sent[0].headers.items()}
    assert set(headers) <= {"user-agent", "accept", "accept-encoding", "connection", "authorization"}
    assert all("2024-01-01" not in v and "do-not-send-me" not in v for v in headers.values())
    assert headers["authorization"] == f"Bearer {org['api_key']}"


def test_password_is_registered_with_airflows_masker(sandbox, org, monkeypatch) -> None:
    """Airflow masks a connection password it loads itself; the hook registers it too, so the key stays
    masked however the connection reached it (a spy on the hook's call, then the real masker)."""
    import lexoffice.provider.hooks as hooks_module
    from airflow.sdk._shared.secrets_masker import redact

    registered: list[str] = []
    real_mask_secret = hooks_module.mask_secret
    monkeypatch.setattr(hooks_module, "mask_secret", lambda s, *a: (registered.append(s), real_mask_secret(s, *a)))
    _set_connection(monkeypatch, host=sandbox.base_url, password=org["api_key"])
    LexofficeHook(CONN_ID).get_client().close()
    assert registered == [org["api_key"]]
    assert org["api_key"] not in str(redact(f"key is {org['api_key']}"))


def test_oauth_connection_uses_the_token_store(sandbox, org, monkeypatch) -> None:
    from airflow.sdk._shared.secrets_masker import redact

    oauth = register_oauth_client(sandbox)
    record = exchange_code(
        token_url=default_oauth_urls(sandbox.base_url)["token"], client_id=oauth["client_id"],
        client_secret=oauth["client_secret"], code=consent(sandbox, oauth, org), redirect_uri=oauth["redirect_uri"],
    )
    store = MemoryTokenStore({CONN_ID: record})  # keyed by the connection id
    _set_connection(monkeypatch, host=sandbox.base_url, login=oauth["client_id"], password=oauth["client_secret"])
    sandbox.admin("POST", "/oauth/expire-access-tokens")  # force a refresh through the default token URL
    ok, message = LexofficeHook(CONN_ID, token_store=store).test_connection()
    assert ok, message
    rotated = store.load(CONN_ID)
    assert rotated.refresh_token != record.refresh_token
    for secret in (oauth["client_secret"], rotated.refresh_token, rotated.access_token):
        assert secret not in str(redact(f"value {secret}"))


def test_oauth_token_url_extra_is_used(sandbox, org, monkeypatch) -> None:
    oauth = register_oauth_client(sandbox)
    store = MemoryTokenStore()
    _set_connection(
        monkeypatch, host=sandbox.base_url, login=oauth["client_id"], password=oauth["client_secret"],
        extra={"oauth_token_url": "https://auth.example.test/oauth2/token"},
    )
    client = LexofficeHook(CONN_ID, token_store=store).get_client()
    assert client.auth.token_url == "https://auth.example.test/oauth2/token"
    client.close()


def test_oauth_connection_without_a_token_store_is_refused(sandbox, monkeypatch) -> None:
    _set_connection(monkeypatch, host=sandbox.base_url, login="client-id", password="client-secret-xyz")
    with pytest.raises(ValueError, match="token_store"):
        LexofficeHook(CONN_ID).get_client()


def test_oauth_tenant_without_a_stored_authorisation_must_connect(sandbox, monkeypatch) -> None:
    _set_connection(monkeypatch, host=sandbox.base_url, login="client-id", password="client-secret-xyz")
    ok, message = LexofficeHook(CONN_ID, token_store=MemoryTokenStore()).test_connection()
    assert ok is False and "reconnect" in message


def test_missing_password(monkeypatch) -> None:
    _set_connection(monkeypatch, host="https://api.lexware.io")
    ok, message = LexofficeHook(CONN_ID).test_connection()
    assert ok is False and "API key" in message


def test_plain_http_to_a_remote_host_needs_the_extra(monkeypatch) -> None:
    _set_connection(monkeypatch, host="http://lexware-proxy.internal", password="some-api-key-123")
    with pytest.raises(InsecureTransportError):
        LexofficeHook(CONN_ID).get_client()
    _set_connection(
        monkeypatch, host="http://lexware-proxy.internal", password="some-api-key-123",
        extra={"allow_insecure_http": "true"},
    )
    client = LexofficeHook(CONN_ID).get_client()
    assert client.base_url == "http://lexware-proxy.internal"
    client.close()


def test_rate_key_defaults_to_the_connection_and_can_be_given(monkeypatch) -> None:
    _set_connection(monkeypatch, host="https://api.lexware.io", password="some-api-key-123")
    assert LexofficeHook(CONN_ID).get_client().rate_key == f"lexoffice:{CONN_ID}"
    assert LexofficeHook(CONN_ID, rate_key="org-42").get_client().rate_key == "org-42"


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, DEFAULT_HOST),
        ("", None, DEFAULT_HOST),
        ("api.lexware.io", None, "https://api.lexware.io"),
        ("https://api.lexware.io/", None, "https://api.lexware.io"),
        ("127.0.0.1", 8080, "https://127.0.0.1:8080"),
        ("http://127.0.0.1:8080", None, "http://127.0.0.1:8080"),
    ],
)
def test_api_base_url(host, port, expected) -> None:
    assert api_base_url(host, port) == expected


def test_hook_attributes_match_the_provider_metadata() -> None:
    from lexoffice.provider.provider_info import get_provider_info

    (conn_type,) = get_provider_info()["connection-types"]
    assert conn_type["connection-type"] == LexofficeHook.conn_type
    assert conn_type["hook-class-name"] == f"{LexofficeHook.__module__}.{LexofficeHook.__name__}"
    # Every extra the hook reads has a field in the connection form (timeout was missing).
    assert set(conn_type["conn-fields"]) == {"oauth_token_url", "allow_insecure_http", "timeout"}
    assert LexofficeHook.conn_name_attr == "lexoffice_conn_id"
    assert LexofficeHook.default_conn_name == "lexoffice_default"
    assert LexofficeHook.hook_name == "Lexware Office"
