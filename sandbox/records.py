"""What the sandbox remembers besides the API documents: organisations, credentials and OAuth grants.

Secrets are stored only as SHA-256 digests, so neither the state file nor an admin listing ever contains an
API key, client secret, code or token.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

DEFAULT_BUSINESS_FEATURES = ("INVOICING", "INVOICING_PRO", "BOOKKEEPING")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(24)}"


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Organization:
    organization_id: str
    company_name: str
    connection_id: str
    created_date: str
    tax_type: str = "net"
    small_business: bool = False
    business_features: list[str] = field(default_factory=lambda: list(DEFAULT_BUSINESS_FEATURES))
    distance_sales_principle: str | None = None
    rate_limit_per_second: float | None = 2.0
    rate_limit_burst: int = 1
    round_trip_seconds: float = 0.0
    search_window: int = 10_000
    user_id: str = field(default_factory=new_id)
    next_customer_number: int = 10_000
    next_vendor_number: int = 70_000
    next_invoice_number: int = 1

    def admin_view(self) -> dict[str, Any]:
        return {
            "organization_id": self.organization_id, "company_name": self.company_name,
            "connection_id": self.connection_id, "tax_type": self.tax_type,
            "small_business": self.small_business, "business_features": self.business_features,
            "distance_sales_principle": self.distance_sales_principle,
            "rate_limit_per_second": self.rate_limit_per_second, "rate_limit_burst": self.rate_limit_burst,
            "round_trip_seconds": self.round_trip_seconds, "search_window": self.search_window,
        }


@dataclass
class ApiKey:
    key_hash: str
    organization_id: str
    connection_id: str


@dataclass
class OAuthClient:
    client_id: str
    secret_hash: str
    redirect_uris: list[str]
    access_token_ttl_seconds: float = 3600.0


@dataclass
class AuthorizationCode:
    code_hash: str
    client_id: str
    redirect_uri: str
    organization_id: str
    scope: str | None
    expires_at: float
    used: bool = False
    code_challenge: str | None = None  # PKCE (RFC 7636, S256 only): the token request must bring its verifier


@dataclass
class Grant:
    """One user consent ("Zugriff erlauben"): a connection with a rotating refresh token."""

    grant_id: str
    client_id: str
    organization_id: str
    connection_id: str
    scope: str | None
    refresh_hash: str
    revoked: bool = False


@dataclass
class AccessToken:
    token_hash: str
    grant_id: str
    expires_at: float


@dataclass(frozen=True)
class Principal:
    """Who a /v1 request acts for, resolved from its bearer token."""

    organization_id: str
    connection_id: str
