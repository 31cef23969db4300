"""Partner finance API (UNVERIFIED, see sandbox/finance.py): financial accounts and transaction batches."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.clock import server_timestamp
from sandbox.errors import ApiError, regular_error, validation_error
from sandbox.finance import (account_violations, build_account, build_transaction, normalise_iban,
                             transaction_violations)
from sandbox.jsonbody import plain, read_json
from sandbox.records import new_id
from sandbox.routes.common import ok, principal_of, resource_uri, state_of

router = APIRouter()


def _malformed(request: Request) -> ApiError:
    return regular_error(400, request.url.path, "Malformed JSON request body")


@router.post("/v1/finance/financial-accounts")
async def create_account(request: Request) -> JSONResponse:
    body = await read_json(request, lambda: _malformed(request))
    violations = account_violations(body)
    if violations:
        raise validation_error(request.url.path, violations)
    state, principal = state_of(request), principal_of(request)
    account_id = body.get("financialAccountId") or new_id()
    with state.transaction():
        if account_id in state.financial_accounts.by_id:
            raise regular_error(409, request.url.path, f"financial account {account_id} already exists")
        account = build_account(body, account_id, principal.organization_id, server_timestamp())
        state.put("financial_accounts", account_id, account)
    location = resource_uri(request, f"/v1/finance/accounts/{account_id}")
    return JSONResponse(account, status_code=201, headers={"Location": location})


@router.get("/v1/finance/accounts/{account_id}")
async def get_account(account_id: str, request: Request) -> JSONResponse:
    state, principal = state_of(request), principal_of(request)
    with state.lock:
        account = state.financial_accounts.get(principal.organization_id, account_id)
    if account is None:
        raise regular_error(404, request.url.path, "financial account not found")
    return ok(account)


@router.get("/v1/finance/accounts")
async def find_accounts(request: Request) -> JSONResponse:
    iban = request.query_params.get("iban")
    reference = request.query_params.get("externalReference")
    state, principal = state_of(request), principal_of(request)
    with state.lock:
        accounts = state.financial_accounts.for_org(principal.organization_id)
    if iban is not None:
        accounts = [a for a in accounts if a["iban"] == normalise_iban(iban)]
    if reference is not None:
        accounts = [a for a in accounts if a["externalReference"] == reference]
    return ok(accounts)


@router.post("/v1/finance/transactions")
async def create_transactions(request: Request) -> JSONResponse:
    """The batch is atomic: one invalid item and nothing is created."""
    body = await read_json(request, lambda: _malformed(request))
    state, principal = state_of(request), principal_of(request)
    org_id = principal.organization_id
    with state.transaction():
        violations = transaction_violations(
            body, lambda account_id: state.financial_accounts.get(org_id, account_id) is not None)
        if violations:
            raise validation_error(request.url.path, violations)
        now = server_timestamp()
        created_items = [build_transaction(item, new_id(), org_id, now) for item in body]
        for item in created_items:
            state.put("transactions", item["financialTransactionId"], item)
    location = resource_uri(request, f"/v1/finance/transactions/{created_items[0]['financialTransactionId']}")
    return JSONResponse(plain(created_items), status_code=201, headers={"Location": location})


@router.get("/v1/finance/transactions/latest-transaction")
async def latest_transaction(request: Request) -> JSONResponse:
    """The account's most recently created transaction: the high-water mark for reconciling a lost push."""
    account_id = request.query_params.get("financialAccountId")
    if not account_id:
        raise regular_error(400, request.url.path, "Required request parameter 'financialAccountId' is not present")
    state, principal = state_of(request), principal_of(request)
    with state.lock:
        if state.financial_accounts.get(principal.organization_id, account_id) is None:
            raise regular_error(404, request.url.path, "financial account not found")
        latest = _latest(state.transactions.for_org(principal.organization_id), account_id)
    if latest is None:
        raise regular_error(404, request.url.path, "no transactions for this financial account")
    return ok(latest)


def _latest(transactions: list[dict[str, Any]], account_id: str) -> dict[str, Any] | None:
    return next((t for t in reversed(transactions) if t["financialAccountId"] == account_id), None)


@router.get("/v1/finance/transactions/{transaction_id}")
async def get_transaction(transaction_id: str, request: Request) -> JSONResponse:
    state, principal = state_of(request), principal_of(request)
    with state.lock:
        transaction = state.transactions.get(principal.organization_id, transaction_id)
    if transaction is None:
        raise regular_error(404, request.url.path, "financial transaction not found")
    return ok(transaction)
