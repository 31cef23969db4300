"""``/v1/invoices``: create (draft unless ``finalize=true``) and read. There is no update or delete, as in Lexware."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.clock import server_timestamp
from sandbox.errors import ApiError, regular_error, validation_error
from sandbox.invoices import build_invoice, validate_invoice
from sandbox.jsonbody import read_json
from sandbox.routes.common import action_result, created, ok, principal_of, state_of

router = APIRouter()


@router.post("/v1/invoices")
async def create_invoice(request: Request) -> JSONResponse:
    path = request.url.path
    body = await read_json(request, lambda: regular_error(400, path, "Malformed JSON request body"))
    # Only the exact spelling finalizes; "finalized=true" silently creates a draft, as the real API does.
    finalize = request.query_params.get("finalize") == "true"
    state, principal = state_of(request), principal_of(request)
    org_id = principal.organization_id
    with state.transaction():
        org = state.organizations[org_id]

        def visible_contact(contact_id: str) -> dict[str, Any] | None:
            contact = state.contacts.get(org_id, contact_id)
            return contact if contact is not None and state.contact_visible(contact_id) else None

        violations, valid = validate_invoice(body, org, visible_contact)
        if valid is None:
            raise validation_error(path, violations)
        invoice = build_invoice(valid, org, finalize, server_timestamp())
        state.put("invoices", invoice["id"], invoice)
        if finalize:
            state.touch("organizations", org_id)
    location = f"/v1/invoices/{invoice['id']}"
    return created(request, location, action_result(request, location, invoice))


@router.get("/v1/invoices/{invoice_id}")
async def get_invoice(invoice_id: str, request: Request) -> JSONResponse:
    state, principal = state_of(request), principal_of(request)
    with state.lock:
        invoice = state.invoices.get(principal.organization_id, invoice_id)
    if invoice is None:
        raise _not_found(request)
    return ok(invoice)


@router.api_route("/v1/invoices/{invoice_id}", methods=["PUT", "PATCH", "DELETE"])
async def no_invoice_updates(invoice_id: str, request: Request) -> JSONResponse:
    """Lexware has no update or delete for invoices and answers 404 (not 405) for them."""
    raise _not_found(request)


def _not_found(request: Request) -> ApiError:
    return regular_error(404, request.url.path, "Resource not found")
