"""``/_admin``: set up organisations and OAuth clients, inject faults and read lag, inspect what arrived.

The real API has nothing like it. No auth, never rate-limited, never faulted; request bodies are validated
strictly (unknown fields are refused) so a typo in a test's setup fails loudly instead of being ignored.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from sandbox.clock import server_timestamp
from sandbox.faults import FaultMode
from sandbox.ratelimit import TokenBucket
from sandbox.records import (DEFAULT_BUSINESS_FEATURES, ApiKey, OAuthClient, Organization, digest, new_id,
                             new_secret)
from sandbox.routes.common import state_of
from sandbox.store import SandboxState

router = APIRouter(prefix="/_admin")

TaxType = Literal["net", "gross", "vatfree"]
DistanceSalesPrinciple = Literal["ORIGIN", "DESTINATION"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganizationSettings(Strict):
    """Everything about an organisation a test may change. ``rate_limit_per_second: null`` = no limit;
    ``rate_limit_burst`` requests may come at once (1: none); ``round_trip_seconds`` delays every /v1 answer
    like a network round trip (the rate limit still counts requests when they arrive)."""

    company_name: str | None = None
    tax_type: TaxType | None = None
    small_business: bool | None = None
    business_features: list[str] | None = None
    distance_sales_principle: DistanceSalesPrinciple | None = None
    api_key: str | None = Field(default=None, min_length=1)
    rate_limit_per_second: float | None = Field(default=2.0, gt=0)
    rate_limit_burst: int | None = Field(default=None, ge=1)
    round_trip_seconds: float | None = Field(default=None, ge=0, le=30)
    search_window: int | None = Field(default=None, ge=0)


NULLABLE_SETTINGS = frozenset({"rate_limit_per_second", "distance_sales_principle"})


class NewOrganization(OrganizationSettings):
    company_name: str
    organization_id: str | None = None


class NewApiKey(Strict):
    api_key: str | None = Field(default=None, min_length=1)


class NewOAuthClient(Strict):
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    redirect_uris: list[str] = Field(min_length=1)
    access_token_ttl_seconds: float = Field(default=3600.0, gt=0)


class NewFault(Strict):
    """Defaults as in the contract: one 500 on POST /v1/invoices. ``method``/``path`` null match anything."""

    mode: FaultMode
    count: int = Field(default=1, ge=1)
    status: int = Field(default=500, ge=100, le=599)
    method: str | None = "POST"
    path: str | None = "/v1/invoices"
    delay_seconds: float = Field(default=3.0, ge=0)
    retry_after: float | None = Field(default=None, ge=0)


class ReadLag(Strict):
    seconds: float = Field(ge=0)


@router.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@router.post("/reset")
async def reset(request: Request) -> dict[str, bool]:
    state_of(request).reset()
    return {"ok": True}


@router.post("/organizations", status_code=201)
async def create_organization(spec: NewOrganization, request: Request) -> dict[str, Any]:
    state = state_of(request)
    org_id = spec.organization_id or new_id()
    api_key = spec.api_key or new_secret("sandbox")
    with state.transaction():
        if org_id in state.organizations:
            raise HTTPException(409, f"organization {org_id} exists")
        if digest(api_key) in state.api_keys:
            raise HTTPException(409, "api_key is already in use")
        org = Organization(
            organization_id=org_id, company_name=spec.company_name, connection_id=new_id(),
            created_date=server_timestamp(), tax_type=spec.tax_type or "net",
            small_business=bool(spec.small_business),
            business_features=list(spec.business_features or DEFAULT_BUSINESS_FEATURES),
            distance_sales_principle=spec.distance_sales_principle,
            rate_limit_per_second=spec.rate_limit_per_second,
            rate_limit_burst=spec.rate_limit_burst or 1,
            round_trip_seconds=spec.round_trip_seconds or 0.0,
            search_window=10_000 if spec.search_window is None else spec.search_window,
        )
        state.put("organizations", org_id, org)
        state.put("api_keys", digest(api_key), ApiKey(digest(api_key), org_id, org.connection_id))
    return {"organization_id": org_id, "api_key": api_key, "connection_id": org.connection_id}


@router.patch("/organizations/{org_id}")
async def update_organization(org_id: str, spec: OrganizationSettings, request: Request) -> dict[str, Any]:
    state = state_of(request)
    answer: dict[str, Any] = {}
    with state.transaction():
        org = _organization(state, org_id)
        for name in spec.model_fields_set - {"api_key"}:
            value = getattr(spec, name)
            if value is None and name not in NULLABLE_SETTINGS:
                raise HTTPException(422, f"{name} must not be null")
            setattr(org, name, value)
        if spec.model_fields_set & {"rate_limit_per_second", "rate_limit_burst"} and org_id in state.runtime:
            state.runtime[org_id].bucket = TokenBucket.per_second(org.rate_limit_per_second, org.rate_limit_burst)
        state.touch("organizations", org_id)
        if spec.api_key is not None:
            answer = _add_api_key(state, org, spec.api_key)
    return {**org.admin_view(), **answer}


@router.get("/organizations")
async def list_organizations(request: Request) -> list[dict[str, Any]]:
    state = state_of(request)
    with state.lock:
        return [org.admin_view() for org in state.organizations.values()]


@router.get("/organizations/{org_id}")
async def get_organization(org_id: str, request: Request) -> dict[str, Any]:
    state = state_of(request)
    with state.lock:
        return _organization(state, org_id).admin_view()


@router.post("/organizations/{org_id}/api-keys", status_code=201)
async def create_api_key(org_id: str, request: Request, spec: NewApiKey | None = None) -> dict[str, Any]:
    state = state_of(request)
    with state.transaction():
        org = _organization(state, org_id)
        return _add_api_key(state, org, (spec.api_key if spec else None) or new_secret("sandbox"))


def _add_api_key(state: SandboxState, org: Organization, api_key: str) -> dict[str, Any]:
    """Every key is its own connection (own connectionId in /v1/profile), as separate integrations are."""
    if digest(api_key) in state.api_keys:
        raise HTTPException(409, "api_key is already in use")
    connection_id = new_id()
    state.put("api_keys", digest(api_key), ApiKey(digest(api_key), org.organization_id, connection_id))
    return {"api_key": api_key, "connection_id": connection_id}


@router.post("/oauth-clients", status_code=201)
async def register_oauth_client(spec: NewOAuthClient, request: Request) -> dict[str, Any]:
    """Registering an existing client_id again replaces it (handy for re-run demo setups)."""
    state = state_of(request)
    with state.transaction():
        state.put("oauth_clients", spec.client_id, OAuthClient(
            client_id=spec.client_id, secret_hash=digest(spec.client_secret), redirect_uris=list(spec.redirect_uris),
            access_token_ttl_seconds=spec.access_token_ttl_seconds))
    return {"client_id": spec.client_id, "redirect_uris": spec.redirect_uris,
            "access_token_ttl_seconds": spec.access_token_ttl_seconds}


@router.post("/oauth/expire-access-tokens")
async def expire_access_tokens(request: Request) -> dict[str, int]:
    state = state_of(request)
    now = time.time()
    with state.transaction():
        live = [t for t in state.access_tokens.values() if t.expires_at > now]
        for access in live:
            access.expires_at = now
            state.touch("access_tokens", access.token_hash)
    return {"expired": len(live)}


@router.post("/faults", status_code=201)
async def add_fault(spec: NewFault, request: Request) -> dict[str, str]:
    state = state_of(request)
    with state.lock:
        fault = state.faults.add(**spec.model_dump())
    return {"id": fault.id}


@router.get("/faults")
async def list_faults(request: Request) -> list[dict[str, Any]]:
    state = state_of(request)
    with state.lock:
        return state.faults.remaining()


@router.delete("/faults")
async def clear_faults(request: Request) -> dict[str, bool]:
    state = state_of(request)
    with state.lock:
        state.faults.clear()
    return {"ok": True}


@router.post("/contact-read-lag")
async def set_contact_read_lag(spec: ReadLag, request: Request) -> dict[str, float]:
    """Contacts created from now on stay invisible to GET, filters and invoice references this long."""
    state = state_of(request)
    with state.lock:
        state.contact_read_lag_seconds = spec.seconds
    return {"seconds": spec.seconds}


INSPECTABLE = {"invoices": "invoices", "contacts": "contacts", "financial-accounts": "financial_accounts",
               "transactions": "transactions"}


@router.get("/organizations/{org_id}/requests")
async def request_log(org_id: str, request: Request) -> list[dict[str, Any]]:
    state = state_of(request)
    with state.lock:
        _organization(state, org_id)
        runtime = state.runtime.get(org_id)
        return [r.as_json() for r in runtime.requests] if runtime else []


@router.get("/organizations/{org_id}/{kind}")
async def inspect_documents(org_id: str, kind: str, request: Request) -> list[dict[str, Any]]:
    if kind not in INSPECTABLE:
        raise HTTPException(404, f"unknown collection {kind}; one of {', '.join(INSPECTABLE)}")
    state = state_of(request)
    with state.lock:
        _organization(state, org_id)
        return state.documents[INSPECTABLE[kind]].for_org(org_id)


@router.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    state = state_of(request)
    with state.lock:
        per_org = {}
        for org_id in state.organizations:
            runtime = state.runtime.get(org_id)
            per_org[org_id] = {
                "requests": len(runtime.requests) if runtime else 0,
                "rate_limited": runtime.rate_limited if runtime else 0,
                "invoices": state.invoices.count(org_id),
                "contacts": state.contacts.count(org_id),
                "transactions": state.transactions.count(org_id),
                "financial_accounts": state.financial_accounts.count(org_id),
            }
    return {"organizations": per_org}


def _organization(state: SandboxState, org_id: str) -> Organization:
    org = state.organizations.get(org_id)
    if org is None:
        raise HTTPException(404, f"unknown organization {org_id}")
    return org
