"""``/_admin/organizations/{org}/invoices/{id}/…``: play the accountant (finalize, pay, void, delete a draft).

Lexware Office offers none of these to an integration; the accountant does them in the web app. Tests need
them to see what the nightly status sync records (``sandbox/lifecycle.py`` holds the rules).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict

from sandbox.clock import server_timestamp
from sandbox.lifecycle import TRANSITIONS, LifecycleError, change_status, check_deletable
from sandbox.routes.common import state_of
from sandbox.store import SandboxState

router = APIRouter(prefix="/_admin")


class Finalize(BaseModel):
    """``due_date`` (a Berlin day) overrides voucher date + payment term, e.g. to make an invoice overdue."""

    model_config = ConfigDict(extra="forbid")
    due_date: date | None = None


@router.post("/organizations/{org_id}/invoices/{invoice_id}/finalize")
async def finalize(org_id: str, invoice_id: str, request: Request,
                   spec: Finalize | None = None) -> dict[str, Any]:
    return _change(request, org_id, invoice_id, "finalize", spec.due_date if spec else None)


@router.post("/organizations/{org_id}/invoices/{invoice_id}/{action}")
async def settle(org_id: str, invoice_id: str, action: str, request: Request) -> dict[str, Any]:
    """``pay``, ``pay-off`` or ``void`` a finalized invoice."""
    if action not in TRANSITIONS or action == "finalize":
        raise HTTPException(404, f"unknown action {action}; one of pay, pay-off, void, finalize")
    return _change(request, org_id, invoice_id, action, None)


@router.delete("/organizations/{org_id}/invoices/{invoice_id}")
async def delete_draft(org_id: str, invoice_id: str, request: Request) -> dict[str, Any]:
    state = state_of(request)
    with state.transaction():
        invoice = _invoice(state, org_id, invoice_id)
        try:
            check_deletable(invoice)
        except LifecycleError as err:
            raise HTTPException(409, str(err)) from None
        state.invoices.remove(invoice_id)
        state.touch("invoices", invoice_id)
    return {"deleted": invoice_id}


def _change(request: Request, org_id: str, invoice_id: str, action: str, due_date: date | None) -> dict[str, Any]:
    state = state_of(request)
    with state.transaction():
        invoice = _invoice(state, org_id, invoice_id)
        try:
            change_status(invoice, action, state.organizations[org_id], server_timestamp(), due_date)
        except LifecycleError as err:
            raise HTTPException(409, str(err)) from None
        state.touch("invoices", invoice_id)
        if action == "finalize":
            state.touch("organizations", org_id)
        return dict(invoice)


def _invoice(state: SandboxState, org_id: str, invoice_id: str) -> dict[str, Any]:
    if org_id not in state.organizations:
        raise HTTPException(404, f"unknown organization {org_id}")
    invoice = state.invoices.get(org_id, invoice_id)
    if invoice is None:
        raise HTTPException(404, f"no invoice {invoice_id} in organization {org_id}")
    return invoice
