"""The OAuth2 authorisation server (authorization-code flow) as partner integrations use it with Lexware.

The consent page shows the company and a "Zugriff erlauben" button (as in the FINOM help article); the token
endpoint takes HTTP Basic client authentication and form bodies; refreshing *rotates* the refresh token, and
revoking a refresh token ends the whole authorisation including its access tokens. Not rate-limited: the real
authorisation server's limits are unpublished.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from sandbox.records import (AccessToken, AuthorizationCode, Grant, OAuthClient, Organization, digest, new_id,
                             new_secret)
from sandbox.routes.common import state_of
from sandbox.store import SandboxState

router = APIRouter()

CODE_TTL_SECONDS = 600
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An RFC 6749 error answer; rendered by ``_oauth_error``."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


@router.get("/oauth2/authorize")
async def consent_page(request: Request) -> HTMLResponse:
    params = request.query_params
    state = state_of(request)
    with state.lock:
        problem = _authorize_problem(state, params.get("client_id"), params.get("redirect_uri"),
                                     params.get("response_type", "code"))
        if problem:
            return _error_page(problem)
        requested_org = params.get("organization_id")
        if requested_org and requested_org not in state.organizations:
            return _error_page("Unbekannte Organisation.")
        orgs = [state.organizations[requested_org]] if requested_org else list(state.organizations.values())
    if not orgs:
        return _error_page("Es gibt keine Organisation, auf die zugegriffen werden könnte.")
    if params.get("code_challenge") and params.get("code_challenge_method", "plain") != "S256":
        return _error_page("Nur code_challenge_method=S256 wird unterstützt.")
    hidden = {k: params.get(k) or "" for k in ("client_id", "redirect_uri", "state", "scope", "code_challenge")}
    return HTMLResponse(_consent_html(hidden, orgs))


@router.post("/oauth2/authorize")
async def grant_consent(request: Request) -> Response:
    form = _form(await request.body())
    client_id, redirect_uri = form.get("client_id"), form.get("redirect_uri")
    state = state_of(request)
    with state.transaction():
        problem = _authorize_problem(state, client_id, redirect_uri, "code")
        if problem or client_id is None or redirect_uri is None:
            return _error_page(problem or "client_id und redirect_uri fehlen.")
        org_id = form.get("organization_id")
        if org_id not in state.organizations:
            return _error_page("Bitte eine Organisation auswählen.")
        if form.get("decision", "allow") != "allow":
            return RedirectResponse(_with_query(redirect_uri, error="access_denied", state=form.get("state")), 302)
        code = new_secret("code")
        state.put("auth_codes", digest(code), AuthorizationCode(
            code_hash=digest(code), client_id=client_id, redirect_uri=redirect_uri, organization_id=org_id,
            scope=form.get("scope") or None, expires_at=time.time() + CODE_TTL_SECONDS,
            code_challenge=form.get("code_challenge") or None))
    return RedirectResponse(_with_query(redirect_uri, code=code, state=form.get("state")), status_code=302)


@router.post("/oauth2/token")
async def token(request: Request) -> JSONResponse:
    form = _form(await request.body())
    state = state_of(request)
    try:
        with state.transaction():
            client = _authenticated_client(state, request)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                grant = _redeem_code(state, client, form.get("code"), form.get("redirect_uri"),
                                     form.get("code_verifier"))
            elif grant_type == "refresh_token":
                grant = _grant_for_refresh(state, client, form.get("refresh_token"))
            elif grant_type is None:
                raise OAuthError(400, "invalid_request")
            else:
                raise OAuthError(400, "unsupported_grant_type")
            body = _issue_tokens(state, client, grant)
    except OAuthError as exc:
        return _oauth_error(exc)
    return JSONResponse(body, headers=NO_STORE)


@router.post("/oauth2/revoke")
async def revoke(request: Request) -> Response:
    """RFC 7009: 200 whether or not the token was known; a known one ends its whole authorisation."""
    form = _form(await request.body())
    state = state_of(request)
    try:
        with state.transaction():
            client = _authenticated_client(state, request)
            grant = _grant_of_any_token(state, form.get("token") or "")
            if grant is not None and grant.client_id == client.client_id and not grant.revoked:
                grant.revoked = True
                state.touch("grants", grant.grant_id)
    except OAuthError as exc:
        return _oauth_error(exc)
    return Response(status_code=200)


def _authorize_problem(state: SandboxState, client_id: str | None, redirect_uri: str | None,
                       response_type: str) -> str | None:
    client = state.oauth_clients.get(client_id or "")
    if client is None:
        return "Unbekannter Client (client_id)."
    if redirect_uri not in client.redirect_uris:
        return "Die redirect_uri ist für diesen Client nicht registriert."
    if response_type != "code":
        return "Nur response_type=code wird unterstützt."
    return None


def _authenticated_client(state: SandboxState, request: Request) -> OAuthClient:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError(401, "invalid_client")
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError(401, "invalid_client") from None
    client = state.oauth_clients.get(client_id)
    if client is None or not hmac.compare_digest(client.secret_hash, digest(secret)):
        raise OAuthError(401, "invalid_client")
    return client


def _pkce_ok(challenge: str | None, verifier: str | None) -> bool:
    if challenge is None:
        return True
    if not verifier:
        return False
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return hmac.compare_digest(computed, challenge)


def _redeem_code(state: SandboxState, client: OAuthClient, code: str | None, redirect_uri: str | None,
                 code_verifier: str | None = None) -> Grant:
    if not code:
        raise OAuthError(400, "invalid_request")
    record = state.auth_codes.get(digest(code))
    if (record is None or record.used or record.expires_at <= time.time() or record.client_id != client.client_id
            or record.redirect_uri != redirect_uri or record.organization_id not in state.organizations
            or not _pkce_ok(record.code_challenge, code_verifier)):
        raise OAuthError(400, "invalid_grant")
    record.used = True
    state.touch("auth_codes", record.code_hash)
    grant = Grant(grant_id=new_id(), client_id=client.client_id, organization_id=record.organization_id,
                  connection_id=new_id(), scope=record.scope, refresh_hash="")
    state.put("grants", grant.grant_id, grant)
    return grant


def _grant_for_refresh(state: SandboxState, client: OAuthClient, refresh_token: str | None) -> Grant:
    if not refresh_token:
        raise OAuthError(400, "invalid_request")
    refresh_hash = digest(refresh_token)
    grant = next((g for g in state.grants.values() if g.refresh_hash == refresh_hash), None)
    if grant is None or grant.revoked or grant.client_id != client.client_id:
        raise OAuthError(400, "invalid_grant")
    return grant


def _grant_of_any_token(state: SandboxState, token: str) -> Grant | None:
    token_hash = digest(token)
    grant = next((g for g in state.grants.values() if g.refresh_hash == token_hash), None)
    if grant is None and token_hash in state.access_tokens:
        grant = state.grants.get(state.access_tokens[token_hash].grant_id)
    return grant


def _issue_tokens(state: SandboxState, client: OAuthClient, grant: Grant) -> dict[str, Any]:
    """A new access token and a new refresh token; the grant's previous refresh token stops working."""
    access, refresh = new_secret("at"), new_secret("rt")
    grant.refresh_hash = digest(refresh)
    state.touch("grants", grant.grant_id)
    ttl = client.access_token_ttl_seconds
    state.put("access_tokens", digest(access),
              AccessToken(token_hash=digest(access), grant_id=grant.grant_id, expires_at=time.time() + ttl))
    body: dict[str, Any] = {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                            "expires_in": int(ttl) if float(ttl).is_integer() else ttl}
    if grant.scope:
        body["scope"] = grant.scope
    return body


def _oauth_error(exc: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="oauth2"'
    return JSONResponse({"error": exc.error}, status_code=exc.status, headers=headers)


def _form(raw: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}


def _with_query(url: str, **params: str | None) -> str:
    parts = urlsplit(url)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _error_page(message: str) -> HTMLResponse:
    return HTMLResponse(_page("Fehler", f"<p class='error'>{escape(message)}</p>"), status_code=400)


def _consent_html(hidden: dict[str, str], orgs: list[Organization]) -> str:
    fields = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in hidden.items())
    if len(orgs) == 1:
        org = orgs[0]
        chooser = (f'<p>Organisation: <strong class="company">{escape(org.company_name)}</strong></p>'
                   f'<input type="hidden" name="organization_id" value="{escape(org.organization_id)}">')
    else:
        options = "".join(f'<option value="{escape(o.organization_id)}">{escape(o.company_name)}</option>'
                          for o in orgs)
        chooser = f'<label>Organisation <select name="organization_id">{options}</select></label>'
    scope = f"<p>Berechtigungen: {escape(hidden['scope'])}</p>" if hidden["scope"] else ""
    body = (f"<p>Die Anwendung <strong>{escape(hidden['client_id'])}</strong> möchte auf Ihre Daten in "
            f"Lexware Office zugreifen.</p>{scope}"
            f'<form method="post" action="/oauth2/authorize">{fields}{chooser}'
            f'<button type="submit" name="decision" value="allow">Zugriff erlauben</button></form>')
    return _page("Zugriff erlauben", body)


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="de"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f"<body><h1>Lexware Office (Sandbox)</h1>{body}</body></html>")
