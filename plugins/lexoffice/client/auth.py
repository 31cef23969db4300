"""Credentials for Lexware Office: a static API key, or OAuth2 with rotating refresh tokens.

OAuth is where workers can hurt each other: Lexware rotates the refresh token on every refresh, so two
workers refreshing with the same token at once leave one of them with ``invalid_grant`` and, worse, may
leave the stored token dead. Hence: the access token is cached and refreshed ``refresh_lead_seconds``
before it expires (or once after a 401); every refresh runs inside the store's ``refresh_lock`` and first
re-loads the record, because another worker may have refreshed already; the rotated refresh token is saved
before anyone uses the new access token.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ContextManager, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

import requests

from lexoffice.client.errors import (
    AuthenticationError,
    LexofficeError,
    OutcomeUnknownError,
    ParsedBody,
    ReconnectRequiredError,
    TransportError,
    error_for_status,
    parse_error_body,
)
from lexoffice.client.redact import SecretRegistry
from lexoffice.client.retry import RetryPolicy, RetryRequested, Verdict, parse_retry_after, verdict
from lexoffice.client.transport import new_session, require_secure_url

log = logging.getLogger(__name__)

PRODUCTION_API_HOST = "api.lexware.io"
PRODUCTION_OAUTH_BASE = "https://app.lexware.de/oauth2"

TOKEN_TIMEOUT = (5.0, 30.0)


@dataclass
class TokenRecord:
    """What is stored per OAuth authorisation. ``access_expires_at`` is epoch seconds."""

    refresh_token: str = field(repr=False)
    access_token: str | None = field(default=None, repr=False)
    access_expires_at: float | None = None

    def __repr__(self) -> str:
        return (
            f"TokenRecord(refresh_token=***, access_token={'***' if self.access_token else None}, "
            f"access_expires_at={self.access_expires_at})"
        )


@runtime_checkable
class TokenStore(Protocol):
    """Durable home of the token records; ``lexoffice.state.tokens`` implements it on the state database."""

    def load(self, key: str) -> TokenRecord | None: ...

    def save(self, key: str, record: TokenRecord) -> None:
        """Replace the record for ``key`` atomically (a half-written refresh token is a lost tenant)."""
        ...

    def refresh_lock(self, key: str) -> ContextManager[None]:
        """Serialise refreshes of ``key`` across threads and processes."""
        ...


class MemoryTokenStore:
    """A ``TokenStore`` in memory: for tests and single-process use (the lock only serialises threads)."""

    def __init__(self, records: dict[str, TokenRecord] | None = None) -> None:
        self._records = {key: dataclasses.replace(rec) for key, rec in (records or {}).items()}
        self._data_lock = threading.Lock()
        self._refresh_locks: dict[str, threading.Lock] = {}

    def load(self, key: str) -> TokenRecord | None:
        with self._data_lock:
            record = self._records.get(key)
            return dataclasses.replace(record) if record else None

    def save(self, key: str, record: TokenRecord) -> None:
        with self._data_lock:
            self._records[key] = dataclasses.replace(record)

    @contextlib.contextmanager
    def refresh_lock(self, key: str) -> Iterator[None]:
        with self._data_lock:
            lock = self._refresh_locks.setdefault(key, threading.Lock())
        with lock:
            yield

    def __repr__(self) -> str:
        return f"MemoryTokenStore({len(self._records)} records)"


class ApiKeyAuth:
    """A Lexware API key (private use, one organisation; keys expire after 24 months)."""

    unauthorized_hint = "the API key was refused: check it, or renew it in Lexware (keys expire after 24 months)"

    def __init__(self, api_key: str) -> None:
        if not api_key or not api_key.strip():
            raise ValueError("ApiKeyAuth needs a non-empty API key")
        self._api_key = api_key.strip()
        self.secrets = SecretRegistry([self._api_key])

    def bearer_token(self) -> str:
        return self._api_key

    def renew_after_unauthorized(self, rejected_token: str) -> bool:
        """An API key cannot be renewed by the client: a 401 is final."""
        return False

    def __repr__(self) -> str:
        return "ApiKeyAuth(api_key=***)"


class OAuth2Auth:
    """OAuth2 access tokens for one authorisation (one tenant), refreshed and rotated safely."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        store: TokenStore,
        store_key: str,
        refresh_lead_seconds: float = 120,
        session: requests.Session | None = None,
        allow_insecure_http: bool = False,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = TOKEN_TIMEOUT,
        on_secret: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        require_secure_url(token_url, allow_insecure_http=allow_insecure_http)
        if not client_id or not client_secret:
            raise ValueError("OAuth2Auth needs a client id and a client secret")
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.store = store
        self.store_key = store_key
        self.refresh_lead_seconds = float(refresh_lead_seconds)
        self._session = session or new_session()
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._clock = clock
        self.secrets = SecretRegistry([client_secret], on_add=on_secret)
        self._cache_lock = threading.Lock()
        self._cached: TokenRecord | None = None
        self._lifetime: float | None = None  # of the last access token this instance obtained

    unauthorized_hint = "the OAuth access token was refused even after a refresh: reconnect this tenant"

    def bearer_token(self) -> str:
        with self._cache_lock:
            cached = self._cached
        if cached is not None and self._usable(cached):
            return cached.access_token  # type: ignore[return-value]
        return self._obtain(rejected=None)

    def renew_after_unauthorized(self, rejected_token: str) -> bool:
        """Get an access token other than ``rejected_token`` (from the store or by refreshing)."""
        self._obtain(rejected=rejected_token)
        return True

    def _obtain(self, *, rejected: str | None) -> str:
        with self.store.refresh_lock(self.store_key):
            record = self._load()
            if not (self._usable(record) and record.access_token != rejected):
                record = self._refresh(record)
            else:
                log.debug("Using the stored access token for %s (perhaps another worker's refresh)", self.store_key)
                with self._cache_lock:
                    self._cached = record
            return record.access_token  # type: ignore[return-value]

    def _load(self) -> TokenRecord:
        record = self.store.load(self.store_key)
        if record is None or not record.refresh_token:
            raise ReconnectRequiredError(
                f"No OAuth authorisation is stored for {self.store_key!r}: connect (or reconnect) this tenant"
            )
        self.secrets.add(record.refresh_token)
        self.secrets.add(record.access_token)
        return record

    def _usable(self, record: TokenRecord) -> bool:
        if not record.access_token:
            return False
        if record.access_expires_at is None:
            return True  # expiry unknown: use it until Lexware answers 401
        lead = self.refresh_lead_seconds
        if self._lifetime is not None:
            lead = min(lead, self._lifetime / 2)  # short-lived tokens would otherwise never be "fresh"
        return self._clock() + lead < record.access_expires_at

    def _refresh(self, record: TokenRecord) -> TokenRecord:
        """Exchange the refresh token (caller holds the refresh lock) and save the rotated one."""
        log.info("Refreshing the Lexware OAuth access token for %s", self.store_key)
        try:
            payload = token_request(
                self._session,
                self.token_url,
                client_id=self.client_id,
                client_secret=self._client_secret,
                data={"grant_type": "refresh_token", "refresh_token": record.refresh_token},
                secrets=self.secrets,
                retry=self._retry,
                timeout=self._timeout,
                repeatable=True,
                what=f"the authorisation {self.store_key!r}",
            )
        except ReconnectRequiredError:
            log.warning("Lexware refused the refresh token for %s: the tenant must reconnect", self.store_key)
            raise
        fresh = record_from_token_response(payload, previous_refresh_token=record.refresh_token, now=self._clock())
        self.secrets.add(fresh.refresh_token)
        self.secrets.add(fresh.access_token)
        self.store.save(self.store_key, fresh)
        if "expires_in" in payload:
            self._lifetime = _as_float(payload.get("expires_in"))
        with self._cache_lock:
            self._cached = fresh
        return fresh

    def __repr__(self) -> str:
        return f"OAuth2Auth(client_id={self.client_id!r}, store_key={self.store_key!r}, client_secret=***)"


def default_oauth_urls(api_base_url: str) -> dict[str, str]:
    """Authorize/token/revoke URLs that belong to an API base URL.

    Production (``api.lexware.io``) uses the web app's ``https://app.lexware.de/oauth2/*`` (from partner
    code; the partner docs were not available, see docs/client.md). Any other host, i.e. the local
    sandbox, serves them itself under ``{base}/oauth2/*``.
    """
    parts = urlsplit(api_base_url.strip())
    if (parts.hostname or "").lower() == PRODUCTION_API_HOST:
        base = PRODUCTION_OAUTH_BASE
    else:
        base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", "")) + "/oauth2"
    return {"authorize": f"{base}/authorize", "token": f"{base}/token", "revoke": f"{base}/revoke"}


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(sha256(verifier)) without padding. The verifier stays with us; only this goes with
    the authorisation request, so a code intercepted on its way back is useless alone."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def exchange_code(
    *,
    token_url: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    session: requests.Session | None = None,
    allow_insecure_http: bool = False,
    retry: RetryPolicy | None = None,
    timeout: tuple[float, float] = TOKEN_TIMEOUT,
    code_verifier: str | None = None,
) -> TokenRecord:
    """Turn the code from the consent redirect into the first token record (store it right away).

    ``code_verifier``: the PKCE secret whose S256 challenge went with the authorisation request (RFC 7636).
    """
    require_secure_url(token_url, allow_insecure_http=allow_insecure_http)
    secrets = SecretRegistry([client_secret, code] + ([code_verifier] if code_verifier else []))
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        form["code_verifier"] = code_verifier
    with _session_for(session) as http:
        payload = token_request(
            http,
            token_url,
            client_id=client_id,
            client_secret=client_secret,
            data=form,
            secrets=secrets,
            retry=retry or RetryPolicy(),
            timeout=timeout,
            repeatable=False,  # a code works once: a lost answer cannot be fetched again
            what="the authorisation code",
        )
    record = record_from_token_response(payload, previous_refresh_token=None, now=time.time())
    return record


def revoke_authorization(
    *,
    revoke_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    session: requests.Session | None = None,
    allow_insecure_http: bool = False,
    retry: RetryPolicy | None = None,
    timeout: tuple[float, float] = TOKEN_TIMEOUT,
) -> None:
    """Revoke an authorisation (its refresh token and access tokens) at Lexware, e.g. on disconnect."""
    require_secure_url(revoke_url, allow_insecure_http=allow_insecure_http)
    with _session_for(session) as http:
        token_request(
            http,
            revoke_url,
            client_id=client_id,
            client_secret=client_secret,
            data={"token": refresh_token},
            secrets=SecretRegistry([client_secret, refresh_token]),
            retry=retry or RetryPolicy(),
            timeout=timeout,
            repeatable=True,  # revoking twice is harmless
            what="the revocation",
            expect_json=False,
        )


def record_from_token_response(
    payload: dict[str, Any], *, previous_refresh_token: str | None, now: float
) -> TokenRecord:
    """A ``TokenRecord`` from a token endpoint answer; keeps the old refresh token if none was returned."""
    access = payload.get("access_token")
    refresh = payload.get("refresh_token") or previous_refresh_token
    if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
        raise AuthenticationError("Lexware's token endpoint answered without an access or refresh token")
    expires_in = _as_float(payload.get("expires_in"))
    return TokenRecord(
        refresh_token=refresh,
        access_token=access,
        access_expires_at=now + expires_in if expires_in is not None else None,
    )


def token_request(
    session: requests.Session,
    url: str,
    *,
    client_id: str,
    client_secret: str,
    data: dict[str, str],
    secrets: SecretRegistry,
    retry: RetryPolicy,
    timeout: tuple[float, float],
    repeatable: bool,
    what: str,
    expect_json: bool = True,
) -> dict[str, Any]:
    """POST a form to an OAuth endpoint with HTTP Basic client authentication, applying the retry table."""
    path = urlsplit(url).path

    def attempt(number: int) -> dict[str, Any]:
        try:
            response = session.post(
                url,
                data=data,
                auth=requests.auth.HTTPBasicAuth(client_id, client_secret),
                timeout=timeout,
                verify=True,
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            decision = verdict("POST", error=exc, idempotent=repeatable)
            if decision is Verdict.OUTCOME_UNKNOWN:
                raise OutcomeUnknownError(
                    f"The exchange of {what} may or may not have happened ({type(exc).__name__}); "
                    "if it did, the code is used up: start the authorisation again",
                    method="POST",
                    path=path,
                ) from exc
            error = TransportError(
                f"Could not reach Lexware's OAuth endpoint for {what} ({type(exc).__name__})", method="POST", path=path
            )
            if decision is Verdict.RETRY:
                raise RetryRequested(error, reason=type(exc).__name__) from exc
            raise error from exc
        status = response.status_code
        if status < 300:
            if not expect_json or not response.content:
                return {}
            try:
                payload = response.json()
            except ValueError:
                raise AuthenticationError(f"Lexware's OAuth endpoint sent no JSON for {what}", status=status) from None
            return payload if isinstance(payload, dict) else {}
        body = parse_error_body(secrets.scrub(response.text))
        error = _oauth_error(status, body, what=what, path=path, attempts=number)
        decision = verdict("POST", status=status, idempotent=repeatable)
        if decision is Verdict.RETRY:
            raise RetryRequested(error, retry_after=parse_retry_after(response.headers.get("Retry-After")))
        if decision is Verdict.OUTCOME_UNKNOWN:
            raise OutcomeUnknownError(
                f"Lexware answered HTTP {status} to the exchange of {what}; if it was executed the code is used "
                "up: start the authorisation again",
                status=status,
                trace_id=body.trace_id,
                method="POST",
                path=path,
            )
        raise error

    return retry.run(attempt)


def _oauth_error(status: int, body: ParsedBody, *, what: str, path: str, attempts: int) -> LexofficeError:
    common: dict[str, Any] = dict(status=status, trace_id=body.trace_id, method="POST", path=path)
    if body.oauth_error == "invalid_grant":
        return ReconnectRequiredError(
            f"Lexware no longer accepts {what} (invalid_grant: revoked, expired or already used): "
            "reconnect this tenant",
            **common,
        )
    if body.oauth_error == "invalid_client" or status == 401:
        return AuthenticationError(
            f"Lexware rejected the OAuth client credentials for {what} ({body.oauth_error or 'HTTP 401'}): "
            "check the client id and client secret of the connection",
            **common,
        )
    return error_for_status(status, method="POST", path=path, body=body, attempts=attempts)


@contextlib.contextmanager
def _session_for(session: requests.Session | None) -> Iterator[requests.Session]:
    if session is not None:
        yield session
        return
    own = new_session()
    try:
        yield own
    finally:
        own.close()


def _as_float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
