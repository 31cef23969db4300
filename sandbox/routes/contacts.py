"""``/v1/contacts``: create, read, update (optimistic locking) and filter contacts; errors as ``IssueList``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.clock import server_timestamp
from sandbox.contacts import (WRITABLE_FIELDS, assign_roles, contact_issues, display_name, invalid,
                              searchable_emails, searchable_names, writable_part)
from sandbox.errors import ApiError, Issue, issue_error
from sandbox.jsonbody import plain, read_json
from sandbox.paging import PagingError, envelope, page_params, sort_entry
from sandbox.records import new_id
from sandbox.routes.common import action_result, created, ok, principal_of, state_of
from sandbox.search import decode_search_value, like_matcher

router = APIRouter()

MIN_SEARCH_LENGTH = 3
MAX_SEARCH_LENGTH = 255


def _bad_request(source: str | None, detail: str) -> ApiError:
    return issue_error(400, [Issue("bad_request_error", source, "bad_request_error", detail)])


def _not_found(contact_id: str) -> ApiError:
    return issue_error(404, [Issue("not_found", "id", "not_found", f"contact {contact_id} not found")])


def _malformed() -> ApiError:
    return _bad_request(None, "malformed JSON body")


@router.post("/v1/contacts")
async def create_contact(request: Request) -> JSONResponse:
    body = await read_json(request, _malformed)
    issues = contact_issues(body)
    if not issues and body["version"] != 0:
        issues.append(invalid("version", "must be 0 when creating a contact"))
    if issues:
        raise issue_error(406, issues)
    state, principal = state_of(request), principal_of(request)
    with state.transaction():
        org = state.organizations[principal.organization_id]
        now = server_timestamp()
        contact: dict[str, Any] = {
            "id": new_id(), "organizationId": org.organization_id, "version": 0,
            "roles": assign_roles(body["roles"], None, org), **plain(writable_part(body)), "archived": False,
            "createdDate": now, "updatedDate": now,
        }
        state.put("contacts", contact["id"], contact)
        state.touch("organizations", org.organization_id)
        if state.contact_read_lag_seconds > 0:
            state.contact_visible_at[contact["id"]] = time.time() + state.contact_read_lag_seconds
    path = f"/v1/contacts/{contact['id']}"
    return created(request, path, action_result(request, path, contact))


@router.get("/v1/contacts/{contact_id}")
async def get_contact(contact_id: str, request: Request) -> JSONResponse:
    state, principal = state_of(request), principal_of(request)
    with state.lock:
        contact = state.contacts.get(principal.organization_id, contact_id)
        if contact is None or not state.contact_visible(contact_id):
            raise _not_found(contact_id)
        return ok(contact)


@router.put("/v1/contacts/{contact_id}")
async def update_contact(contact_id: str, request: Request) -> JSONResponse:
    body = await read_json(request, _malformed)
    state, principal = state_of(request), principal_of(request)
    with state.transaction():
        contact = state.contacts.get(principal.organization_id, contact_id)
        if contact is None or not state.contact_visible(contact_id):
            raise _not_found(contact_id)
        issues = contact_issues(body)
        if issues:
            raise issue_error(406, issues)
        if body["version"] != contact["version"]:
            raise issue_error(409, [Issue("conflict", "version", "conflict",
                                          f"version {body['version']} is outdated; current is {contact['version']}")])
        org = state.organizations[principal.organization_id]
        roles = assign_roles(body["roles"], contact["roles"], org)
        for field in WRITABLE_FIELDS:
            contact.pop(field, None)
        contact.update(plain(writable_part(body)))
        contact.update(roles=roles, version=contact["version"] + 1, updatedDate=server_timestamp())
        state.touch("contacts", contact_id)
        state.touch("organizations", org.organization_id)
    path = f"/v1/contacts/{contact_id}"
    return ok(action_result(request, path, contact))


@router.get("/v1/contacts")
async def filter_contacts(request: Request) -> JSONResponse:
    params = request.query_params
    for name in ("email", "name", "number", "customer", "vendor", "page", "size"):
        if len(params.getlist(name)) > 1:
            raise _bad_request(name, "each filter may be given only once")
    try:
        page, size = page_params(params.get("page"), params.get("size"))
    except PagingError as exc:
        raise _bad_request("size", str(exc)) from None
    predicates = _predicates(params.get("email"), params.get("name"), params.get("number"),
                             params.get("customer"), params.get("vendor"))
    state, principal = state_of(request), principal_of(request)
    with state.lock:
        matches = [c for c in state.contacts.for_org(principal.organization_id)
                   if state.contact_visible(c["id"]) and all(p(c) for p in predicates)]
    matches.sort(key=lambda c: display_name(c).lower())
    return ok(envelope(matches, page, size, [sort_entry("name", ascending=True)]))


Predicate = Callable[[dict[str, Any]], bool]


def _predicates(email: str | None, name: str | None, number: str | None,
                customer: str | None, vendor: str | None) -> list[Predicate]:
    predicates: list[Predicate] = []
    for field, raw, values_of in (("email", email, searchable_emails), ("name", name, searchable_names)):
        if raw is None:
            continue
        decoded = decode_search_value(raw)
        length = len(decoded) if decoded is not None else len(raw)
        if not MIN_SEARCH_LENGTH <= length <= MAX_SEARCH_LENGTH:
            raise _bad_request(field, f"size must be between {MIN_SEARCH_LENGTH} and {MAX_SEARCH_LENGTH}")
        if decoded is None:
            predicates.append(lambda _c: False)
        else:
            predicates.append(_any_matches(like_matcher(decoded), values_of))
    if number is not None:
        predicates.append(lambda c: any(str(r.get("number")) == number for r in c["roles"].values()))
    for role, flag in (("customer", customer), ("vendor", vendor)):
        if flag is None:
            continue
        if flag not in ("true", "false"):
            raise _bad_request(role, "must be true or false")
        predicates.append(_role_predicate(role, flag == "true"))
    return predicates


def _any_matches(matches: Callable[[str], bool], values_of: Callable[[dict[str, Any]], list[str]]) -> Predicate:
    return lambda contact: any(matches(v) for v in values_of(contact))


def _role_predicate(role: str, wanted: bool) -> Predicate:
    return lambda contact: (role in contact["roles"]) == wanted
