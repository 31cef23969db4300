""""Zugriff erlauben" from the page: server-side state and PKCE, against the sandbox's OAuth server."""

from __future__ import annotations

import html
import json
import re
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa

from tests.support.world import World

pytestmark = pytest.mark.e2e
CALLBACK = "http://127.0.0.1/lexoffice/oauth/callback"
CLIENT_ID, CLIENT_SECRET = "partner-app-ui", "ui-client-secret-0815-abcdef"


@pytest.fixture
def oauth_world(world: World) -> World:
    from lexoffice.state import tenants

    org = world.sandbox.admin("POST", "/organizations", json={"company_name": "Oauth GmbH"})
    world.tenants_org = org["organization_id"]  # type: ignore[attr-defined]
    world.sandbox.admin("POST", "/oauth-clients", json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                                        "redirect_uris": [CALLBACK]})
    world.monkeypatch.setenv("AIRFLOW_CONN_LEXOFFICE_OAUTHCO", json.dumps({
        "conn_type": "lexoffice", "host": world.sandbox.base_url, "login": CLIENT_ID, "password": CLIENT_SECRET}))
    tenants.add_tenant(world.state, tenant_id="oauthco", name="Oauth GmbH", lexoffice_conn_id="lexoffice_oauthco",
                       invoice_company_id="C9", export_since=date(2026, 10, 1), auth_mode="oauth")
    return world


def _h(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def allow(world: World, authorize_url: str) -> str:
    """A person on Lexware's consent page clicks "Zugriff erlauben"; returns where Lexware redirects to."""
    page = requests.get(authorize_url, timeout=10)
    page.raise_for_status()
    form = {html.unescape(k): html.unescape(v)
            for k, v in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)}
    form.update(organization_id=world.tenants_org, decision="allow")  # type: ignore[attr-defined]
    granted = requests.post(f"{world.sandbox.base_url}/oauth2/authorize", data=form, timeout=10,
                            allow_redirects=False)
    assert granted.status_code == 302, granted.text
    return str(granted.headers["Location"])


def _callback_path(location: str) -> str:
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    return f"{parts.path}?{parts.query}"


def _start(client: Any, tokens: dict[str, str], role: str = "op") -> str:
    resp = client.get("/lexoffice/oauth/start/oauthco", headers=_h(tokens, role), follow_redirects=False)
    assert resp.status_code == 303, resp.text
    return str(resp.headers["location"])


def test_allow_access_flow(client: Any, oauth_world: World, tokens: dict[str, str]) -> None:
    from lexoffice.state import health, tenants
    from lexoffice.state.schema import oauth_pending
    from lexoffice.state.tokens import DbTokenStore
    from lexoffice.client.auth import pkce_challenge as challenge

    authorize = _start(client, tokens)
    query = parse_qs(urlsplit(authorize).query)
    assert query["redirect_uri"] == [CALLBACK] and query["code_challenge_method"] == ["S256"]
    with oauth_world.state.connect() as conn:
        stored = conn.execute(sa.select(oauth_pending)).one()
    assert stored.state == query["state"][0] and challenge(stored.code_verifier) == query["code_challenge"][0]
    assert stored.code_verifier not in authorize  # the verifier never leaves the server

    callback = _callback_path(allow(oauth_world, authorize))
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    assert client.get(forged, headers=_h(tokens, "op")).status_code == 400
    other_user = client.get(callback, headers=_h(tokens, "admin"), follow_redirects=False)
    assert other_user.status_code == 400 and "anderen Benutzer" in other_user.json()["detail"]

    done = client.get(callback, headers=_h(tokens, "op"), follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/lexoffice/?msg=")
    tenant = tenants.get_tenant(oauth_world.state, "oauthco")
    assert tenant.connected and tenant.organization_id == oauth_world.tenants_org  # type: ignore[attr-defined]
    assert DbTokenStore(oauth_world.state).load("lexoffice_oauthco") is not None
    assert health.get_all(oauth_world.state)["oauthco"].healthy

    replay = client.get(callback, headers=_h(tokens, "op"), follow_redirects=False)
    assert replay.status_code == 400 and "state" in replay.json()["detail"]

    # disconnect revokes the authorisation at Lexware and forgets the tokens
    resp = client.post("/lexoffice/api/tenants/oauthco/disconnect", headers=_h(tokens, "op"), json={})
    assert resp.status_code == 200 and resp.json()["revoked"] is True
    assert DbTokenStore(oauth_world.state).load("lexoffice_oauthco") is None
    assert not tenants.get_tenant(oauth_world.state, "oauthco").connected


def test_a_code_without_its_verifier_is_worthless(client: Any, oauth_world: World, tokens: dict[str, str]) -> None:
    """PKCE: whoever intercepts the redirect's code cannot redeem it without the server's verifier."""
    from lexoffice.client import default_oauth_urls, exchange_code
    from lexoffice.client.errors import LexofficeError

    code = parse_qs(urlsplit(allow(oauth_world, _start(client, tokens))).query)["code"][0]
    with pytest.raises(LexofficeError):
        exchange_code(token_url=default_oauth_urls(oauth_world.sandbox.base_url)["token"], client_id=CLIENT_ID,
                      client_secret=CLIENT_SECRET, code=code, redirect_uri=CALLBACK, allow_insecure_http=True)
