"""The HTTP basics every Lexware call shares: which URLs may carry credentials, and how a token is attached.

Credentials go only over TLS with verification on. Plain ``http://`` is accepted for loopback hosts (the
local sandbox) and otherwise only when explicitly allowed, because a bearer token sent in clear text is a
token given away.
"""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

import requests

from lexoffice import __version__
from lexoffice.client.errors import InsecureTransportError

log = logging.getLogger(__name__)

USER_AGENT = f"lexoffice-airflow/{__version__}"


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``: traffic that never leaves the machine."""
    if not host:
        return False
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_secure_url(url: str, *, allow_insecure_http: bool = False) -> None:
    """Raise ``InsecureTransportError`` unless credentials may be sent to ``url``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "https" and parts.hostname:
        return
    if scheme == "http" and parts.hostname:
        if is_loopback_host(parts.hostname):
            return
        if allow_insecure_http:
            log.warning("Sending Lexware credentials over plain http to %s (allow_insecure_http)", parts.hostname)
            return
        raise InsecureTransportError(
            f"Refusing to send Lexware credentials over plain http to {parts.hostname}: use https, "
            "or set allow_insecure_http for a test host you trust"
        )
    raise InsecureTransportError(f"Not a usable Lexware URL (need https://host): scheme {scheme or 'missing'!r}")


class BearerAuth(requests.auth.AuthBase):
    """Sets ``Authorization: Bearer``; passing it as ``auth=`` also stops requests applying ~/.netrc."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
    return session
