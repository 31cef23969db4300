"""The OAuth2 authorisation-code flow end to end over real HTTP, as a partner integration runs it."""

from __future__ import annotations

import time
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.sandbox.support import create_org
from tests.support.sandbox_server import SandboxServer

CLIENT = {"client_id": "finom-app", "client_secret": "s3cret-value", "redirect_uris": ["https://partner.example/cb"]}
REDIRECT = CLIENT["redirect_uris"][0]


class ConsentForm(HTMLParser):
    """Collects the consent form's fields (hidden inputs and the first option of a select) and its button."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.options: list[str] = []
        self.buttons: list[str] = []
        self.action = ""
        self._select: str | None = None
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select:
            self.options.append(a["value"])
            self.fields.setdefault(self._select, a["value"])
        elif tag == "button":
            self._in_button = True
            self.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "button":
            self._in_button = False

    def handle_data(self, data: str) -> None:
        if self._in_button:
            self.buttons.append(data.strip())


@pytest.fixture
def client(sandbox: SandboxServer) -> dict[str, Any]:
    sandbox.admin("POST", "/oauth-clients", json=CLIENT)
    return CLIENT


def authorize(sandbox: SandboxServer, **params: str) -> requests.Response:
    query = {"client_id": CLIENT["client_id"], "redirect_uri": REDIRECT, "response_type": "code",
             "state": "xyz-42", **params}
    return requests.get(f"{sandbox.base_url}/oauth2/authorize", params=query, timeout=10)


def consent(sandbox: SandboxServer, **params: str) -> dict[str, list[str]]:
    """Open the consent page, press "Zugriff erlauben", return the redirect's query."""
    page = authorize(sandbox, **params)
    form = ConsentForm()
    form.feed(page.text)
    response = requests.post(f"{sandbox.base_url}{form.action}", data=form.fields, allow_redirects=False,
                             timeout=10)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return parse_qs(location.query)


def token(sandbox: SandboxServer, auth: tuple[str, str] | None = ("finom-app", "s3cret-value"),
          **form: str) -> requests.Response:
    return requests.post(f"{sandbox.base_url}/oauth2/token", data=form, auth=auth, timeout=10)


def exchange(sandbox: SandboxServer, code: str) -> dict[str, Any]:
    response = token(sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def connect(sandbox: SandboxServer) -> dict[str, Any]:
    return exchange(sandbox, consent(sandbox)["code"][0])


def profile(sandbox: SandboxServer, access_token: str) -> requests.Response:
    return requests.get(f"{sandbox.base_url}/v1/profile", headers={"Authorization": f"Bearer {access_token}"},
                        timeout=10)


def test_consent_page_shows_the_company_and_zugriff_erlauben(sandbox: SandboxServer, client: Any) -> None:
    create_org(sandbox, company_name="Bäckerei Schmidt & Söhne")
    page = authorize(sandbox)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Bäckerei Schmidt &amp; Söhne" in page.text
    form = ConsentForm()
    form.feed(page.text)
    assert form.buttons == ["Zugriff erlauben"]
    assert form.action == "/oauth2/authorize"


def test_consent_page_offers_a_choice_when_several_organizations_exist(sandbox: SandboxServer, client: Any) -> None:
    first = create_org(sandbox, company_name="Erste GmbH")
    second = create_org(sandbox, company_name="Zweite GmbH")
    form = ConsentForm()
    form.feed(authorize(sandbox).text)
    assert form.options == [first.organization_id, second.organization_id]
    chosen = ConsentForm()
    chosen.feed(authorize(sandbox, organization_id=second.organization_id).text)
    assert chosen.options == [] and chosen.fields["organization_id"] == second.organization_id


@pytest.mark.parametrize("params", [{"client_id": "unknown"}, {"redirect_uri": "https://evil.example/cb"},
                                    {"response_type": "token"}])
def test_unknown_client_or_redirect_uri_is_a_400_page(sandbox: SandboxServer, client: Any,
                                                      params: dict[str, str]) -> None:
    create_org(sandbox)
    response = authorize(sandbox, **params)
    assert response.status_code == 400
    assert "Zugriff erlauben" not in response.text


def test_allowing_access_redirects_with_code_and_state(sandbox: SandboxServer, client: Any) -> None:
    create_org(sandbox)
    query = consent(sandbox)
    assert query["state"] == ["xyz-42"]
    assert query["code"][0]


def test_code_exchange_with_basic_auth_gives_tokens_for_the_chosen_organization(sandbox: SandboxServer,
                                                                               client: Any) -> None:
    org = create_org(sandbox, company_name="Bäckerei Schmidt")
    tokens = connect(sandbox)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["access_token"] and tokens["refresh_token"]
    me = profile(sandbox, tokens["access_token"])
    assert me.status_code == 200
    assert me.json()["organizationId"] == org.organization_id
    assert me.json()["connectionId"] != org.connection_id  # an OAuth authorisation is its own connection


def test_a_code_works_only_once(sandbox: SandboxServer, client: Any) -> None:
    create_org(sandbox)
    code = consent(sandbox)["code"][0]
    exchange(sandbox, code)
    again = token(sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert (again.status_code, again.json()) == (400, {"error": "invalid_grant"})


def test_code_needs_the_same_redirect_uri(sandbox: SandboxServer, client: Any) -> None:
    create_org(sandbox)
    code = consent(sandbox)["code"][0]
    response = token(sandbox, grant_type="authorization_code", code=code, redirect_uri="https://other.example/cb")
    assert (response.status_code, response.json()) == (400, {"error": "invalid_grant"})


@pytest.mark.parametrize("auth", [None, ("finom-app", "wrong"), ("someone-else", "s3cret-value")])
def test_bad_client_credentials_are_401_invalid_client(sandbox: SandboxServer, client: Any,
                                                       auth: tuple[str, str] | None) -> None:
    create_org(sandbox)
    code = consent(sandbox)["code"][0]
    response = token(sandbox, auth=auth, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert (response.status_code, response.json()) == (401, {"error": "invalid_client"})
    assert "s3cret" not in response.text


def test_refresh_rotates_the_refresh_token(sandbox: SandboxServer, client: Any) -> None:
    create_org(sandbox)
    first = connect(sandbox)
    refreshed = token(sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert refreshed.status_code == 200
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert profile(sandbox, second["access_token"]).status_code == 200
    old = token(sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert (old.status_code, old.json()) == (400, {"error": "invalid_grant"})
    assert token(sandbox, grant_type="refresh_token", refresh_token=second["refresh_token"]).status_code == 200


def test_revoke_ends_the_whole_authorisation(sandbox: SandboxServer, client: Any) -> None:
    create_org(sandbox)
    tokens = connect(sandbox)
    response = requests.post(f"{sandbox.base_url}/oauth2/revoke", data={"token": tokens["refresh_token"]},
                             auth=("finom-app", "s3cret-value"), timeout=10)
    assert response.status_code == 200
    assert profile(sandbox, tokens["access_token"]).status_code == 401
    refresh = token(sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert (refresh.status_code, refresh.json()) == (400, {"error": "invalid_grant"})


def test_access_tokens_expire_after_the_client_ttl(sandbox: SandboxServer) -> None:
    # 2 s: the first call must land while the token is valid even when a loaded machine stalls the test.
    sandbox.admin("POST", "/oauth-clients", json={**CLIENT, "access_token_ttl_seconds": 2.0})
    create_org(sandbox)
    tokens = connect(sandbox)
    assert tokens["expires_in"] == 2.0
    assert profile(sandbox, tokens["access_token"]).status_code == 200
    time.sleep(2.1)
    expired = profile(sandbox, tokens["access_token"])
    assert (expired.status_code, expired.json()) == (401, {"message": "Unauthorized"})
    refreshed = token(sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    assert profile(sandbox, refreshed["access_token"]).status_code == 200


def test_admin_can_expire_every_access_token_now(sandbox: SandboxServer, client: Any) -> None:
    create_org(sandbox)
    tokens = connect(sandbox)
    assert sandbox.admin("POST", "/oauth/expire-access-tokens") == {"expired": 1}
    assert profile(sandbox, tokens["access_token"]).status_code == 401
    refreshed = token(sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    assert profile(sandbox, refreshed["access_token"]).status_code == 200


def test_unsupported_grant_type_is_400(sandbox: SandboxServer, client: Any) -> None:
    response = token(sandbox, grant_type="password", username="a", password="b")
    assert (response.status_code, response.json()) == (400, {"error": "unsupported_grant_type"})


def test_a_code_issued_with_a_pkce_challenge_needs_its_verifier(sandbox: SandboxServer, client: Any) -> None:
    import secrets as random_secrets

    from lexoffice.client.auth import pkce_challenge as s256

    def pkce_pair() -> tuple[str, str]:
        verifier = random_secrets.token_urlsafe(64)
        return verifier, s256(verifier)

    create_org(sandbox)
    verifier, challenge = pkce_pair()
    code = consent(sandbox, code_challenge=challenge, code_challenge_method="S256")["code"][0]
    for wrong in ({}, {"code_verifier": pkce_pair()[0]}):
        refused = token(sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, **wrong)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    code = consent(sandbox, code_challenge=challenge, code_challenge_method="S256")["code"][0]
    accepted = token(sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                     code_verifier=verifier)
    assert accepted.status_code == 200, accepted.text
    assert authorize(sandbox, code_challenge=challenge, code_challenge_method="plain").status_code == 400
