"""Credentials never travel in clear text to a host that is not this machine, unless explicitly allowed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lexoffice.client import ApiKeyAuth, LexofficeClient, MemoryTokenStore, OAuth2Auth, exchange_code
from lexoffice.client.errors import InsecureTransportError
from lexoffice.client.transport import is_loopback_host

KEY = "unit-test-api-key-0001"


@pytest.mark.parametrize(
    "url", ["http://api.lexware.io", "http://10.0.0.5:8080", "http://sandbox.internal/", "http://127.example.com"]
)
def test_plain_http_to_other_hosts_is_refused(url: str) -> None:
    with pytest.raises(InsecureTransportError) as info:
        LexofficeClient(url, ApiKeyAuth(KEY))
    assert KEY not in str(info.value)
    assert "https" in str(info.value)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://127.1.2.3", "http://localhost:9", "http://[::1]:8000", "https://api.lexware.io"],
)
def test_loopback_and_https_are_accepted(url: str) -> None:
    LexofficeClient(url, ApiKeyAuth(KEY)).close()


def test_explicit_permission_allows_plain_http() -> None:
    LexofficeClient("http://sandbox.internal", ApiKeyAuth(KEY), allow_insecure_http=True).close()


@pytest.mark.parametrize("url", ["ftp://api.lexware.io", "api.lexware.io", "https://"])
def test_not_a_url(url: str) -> None:
    with pytest.raises(InsecureTransportError):
        LexofficeClient(url, ApiKeyAuth(KEY))


def test_oauth_endpoints_are_checked_too() -> None:
    with pytest.raises(InsecureTransportError):
        OAuth2Auth(
            token_url="http://app.example.com/oauth2/token", client_id="c", client_secret="s" * 10,
            store=MemoryTokenStore(), store_key="t",
        )
    with pytest.raises(InsecureTransportError):
        exchange_code(
            token_url="http://app.example.com/oauth2/token", client_id="c", client_secret="s" * 10,
            code="code", redirect_uri="https://x",
        )


@pytest.mark.parametrize(
    ("host", "expected"),
    [("127.0.0.1", True), ("127.255.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("LOCALHOST.", True), ("0.0.0.0", False), ("10.0.0.1", False), ("localhost.evil.com", False), (None, False)],
)
def test_loopback_detection(host: str | None, expected: bool) -> None:
    assert is_loopback_host(host) is expected


def test_importing_the_client_does_not_import_airflow() -> None:
    code = (
        "import sys, lexoffice.client, lexoffice.client.api, lexoffice.client.auth; "
        "leaked = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')); "
        "print(leaked); sys.exit(1 if leaked else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
