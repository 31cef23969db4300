"""LexofficeHook: turns an Airflow connection of type ``lexoffice`` into a ``LexofficeClient``.

The connection form is declared in ``provider_info.py``: host = API base URL, password = API key when
login is empty, otherwise login/password = OAuth client id/secret (the tenant's refresh token then lives
in a ``TokenStore``, keyed by the connection id). Only the extras ``oauth_token_url``,
``allow_insecure_http``, ``timeout`` (seconds) and ``confirm_grace_seconds`` (see ``lexoffice.delivery.grace``)
are read, by name. Unlike ``HttpHook``, no extra ever
becomes an HTTP header, so an extra such as ``export_since`` cannot leak to Lexware.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from lexoffice.client import (
    ApiKeyAuth,
    LexofficeClient,
    OAuth2Auth,
    RateLimiter,
    RetryPolicy,
    TokenStore,
    default_oauth_urls,
)
from lexoffice.client.errors import LexofficeError
from lexoffice.delivery import grace
from lexoffice.provider.provider_info import DEFAULT_HOST
from lexoffice.settings import as_bool as _as_bool


class LexofficeHook(BaseHook):
    """Interact with Lexware Office (formerly lexoffice) through ``lexoffice.client``."""

    conn_name_attr = "lexoffice_conn_id"
    default_conn_name = "lexoffice_default"
    conn_type = "lexoffice"
    hook_name = "Lexware Office"

    def __init__(
        self,
        lexoffice_conn_id: str = default_conn_name,
        *,
        token_store: TokenStore | None = None,
        rate_limiter: RateLimiter | None = None,
        rate_key: str | None = None,
        retry: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.lexoffice_conn_id = lexoffice_conn_id
        self.token_store = token_store
        self.rate_limiter = rate_limiter
        self.rate_key = rate_key
        self.retry = retry
        self._client: LexofficeClient | None = None

    def get_conn(self) -> LexofficeClient:
        """The client (cached per hook), as ``BaseHook`` convention names it."""
        if self._client is None:
            self._client = self.get_client()
        return self._client

    @cached_property
    def connection(self) -> Any:
        """The Airflow connection, read once per hook (a task asks for its client and its grace period)."""
        return self.get_connection(self.lexoffice_conn_id)

    def get_client(self) -> LexofficeClient:
        """A new client for this connection; secrets are registered with Airflow's log masker first."""
        conn = self.connection
        base_url = api_base_url(conn.host, conn.port)
        extras = conn.extra_dejson
        allow_insecure_http = _as_bool(extras.get("allow_insecure_http"))
        secret = conn.password or ""
        if not secret:
            raise ValueError(
                f"Connection {self.lexoffice_conn_id!r} has no password: put the Lexware API key there, "
                "or the OAuth client secret with the client id as login"
            )
        mask_secret(secret)
        if conn.login:
            if self.token_store is None:
                raise ValueError(
                    f"Connection {self.lexoffice_conn_id!r} is an OAuth client (login is set): "
                    "LexofficeHook needs a token_store holding the tenant's refresh token"
                )
            token_url = str(extras.get("oauth_token_url") or default_oauth_urls(base_url)["token"])
            auth: ApiKeyAuth | OAuth2Auth = OAuth2Auth(
                token_url=token_url,
                client_id=conn.login,
                client_secret=secret,
                store=self.token_store,
                store_key=self.lexoffice_conn_id,
                allow_insecure_http=allow_insecure_http,
                on_secret=mask_secret,
            )
        else:
            auth = ApiKeyAuth(secret)
        timeout = request_timeout(extras.get("timeout"))
        return LexofficeClient(
            base_url,
            auth,
            **({"timeout": timeout} if timeout else {}),
            rate_limiter=self.rate_limiter,
            # One connection is one tenant; callers that know the organisation id should pass it instead.
            rate_key=self.rate_key or f"lexoffice:{self.lexoffice_conn_id}",
            retry=self.retry,
            allow_insecure_http=allow_insecure_http,
        )

    def confirm_grace_seconds(self) -> float:
        """How long an unknown outcome waits for Lexware before "not found" counts (extra, default 15 min)."""
        return grace.confirm_grace_seconds(self.connection.extra_dejson.get(grace.EXTRA_NAME))

    def test_connection(self) -> tuple[bool, str]:
        """Call ``GET /v1/profile`` and name the organisation the credentials belong to."""
        try:
            with self.get_client() as client:
                profile = client.get_profile()
        except (LexofficeError, ValueError) as exc:
            return False, str(exc)
        name = profile.get("companyName") or "(no name)"
        return True, f"Connected to Lexware Office organisation {name!r} ({profile.get('organizationId')})"


def api_base_url(host: str | None, port: int | None = None) -> str:
    """The API base URL from the connection's host field (a bare host name means https)."""
    host = (host or "").strip().rstrip("/")
    if not host:
        return DEFAULT_HOST
    if "://" not in host:
        host = f"https://{host}"
        if port:
            host = f"{host}:{port}"
    return host


def request_timeout(value: Any) -> tuple[float, float] | None:
    """The ``timeout`` extra as (connect, read) seconds: a number is the read timeout (connect at most 5 s), a
    pair sets both; absent means the client's default. A POST that outlives it is reconciled, never re-sent."""
    if value is None or value == "":
        return None
    try:
        parts = [float(v) for v in value] if isinstance(value, (list, tuple)) else [float(value)]
    except (TypeError, ValueError):
        raise ValueError(f"connection extra 'timeout' must be seconds or [connect, read], got {value!r}") from None
    if len(parts) not in (1, 2) or min(parts) <= 0:
        raise ValueError(f"connection extra 'timeout' must be positive seconds or [connect, read], got {value!r}")
    return (min(5.0, parts[0]), parts[0]) if len(parts) == 1 else (parts[0], parts[1])
