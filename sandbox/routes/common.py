"""Small helpers every /v1 route needs: who is calling, absolute resource URIs, 201 responses."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sandbox.jsonbody import plain
from sandbox.records import Organization, Principal
from sandbox.store import SandboxState


def state_of(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def principal_of(request: Request) -> Principal:
    """Set by the gateway, which refuses every /v1 request without a valid token before routing."""
    principal: Principal = request.state.principal
    return principal


def organization_of(request: Request) -> Organization:
    return state_of(request).organizations[principal_of(request).organization_id]


def resource_uri(request: Request, path: str) -> str:
    return f"{str(request.base_url).rstrip('/')}{path}"


def created(request: Request, path: str, body: dict[str, Any]) -> JSONResponse:
    """201 with a Location header, as Lexware answers every create since 16.09.2024."""
    return JSONResponse(plain(body), status_code=201, headers={"Location": resource_uri(request, path)})


def action_result(request: Request, path: str, document: dict[str, Any]) -> dict[str, Any]:
    """Lexware's answer to POST/PUT: where the resource is and its version, not the resource itself."""
    return {"id": document["id"], "resourceUri": resource_uri(request, path),
            "createdDate": document["createdDate"], "updatedDate": document["updatedDate"],
            "version": document["version"]}


def ok(body: Any, status_code: int = 200) -> JSONResponse:
    """Stored documents are plain JSON already; skip FastAPI's per-field encoding on the hot path."""
    return JSONResponse(body, status_code=status_code)
