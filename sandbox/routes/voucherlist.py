"""``/v1/voucherlist``: find vouchers by type, status, contact and Berlin-day date ranges, paged and sorted.

This is how a client finds the draft behind a lost POST response, so the filters and the 10,000-entry
search window behave as documented; the window is configurable per organisation for tests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.clock import berlin_day, now_berlin, parse_day
from sandbox.errors import ApiError, regular_error
from sandbox.invoices import voucherlist_item
from sandbox.paging import PagingError, envelope, page_params
from sandbox.routes.common import ok, principal_of, state_of
from sandbox.search import decode_search_value

router = APIRouter()

VOUCHER_TYPES = ("salesinvoice", "salescreditnote", "purchaseinvoice", "purchasecreditnote", "invoice",
                 "creditnote", "orderconfirmation", "quotation", "downpaymentinvoice", "deliverynote")
VOUCHER_STATUSES = ("draft", "open", "overdue", "paid", "paidoff", "voided", "transferred", "sepadebit",
                    "accepted", "rejected", "unchecked")
SORT_FIELDS = ("voucherDate", "voucherNumber", "createdDate", "updatedDate")
DEFAULT_SORT = ("voucherDate", False)
DATE_FILTERS = {  # query parameter prefix -> how to get the Berlin day of an invoice
    "voucherDate": lambda inv: berlin_day(inv["voucherDate"]),
    "createdDate": lambda inv: berlin_day(inv["createdDate"]),
    "updatedDate": lambda inv: berlin_day(inv["updatedDate"]),
}

Invoice = dict[str, Any]
Predicate = Callable[[Invoice], bool]


@router.get("/v1/voucherlist")
async def voucherlist(request: Request) -> JSONResponse:
    path = request.url.path
    params = request.query_params

    def bad(message: str) -> ApiError:
        return regular_error(400, path, message)

    types = _enum_list(params.get("voucherType"), "voucherType", VOUCHER_TYPES, bad)
    statuses = _enum_list(params.get("voucherStatus"), "voucherStatus", VOUCHER_STATUSES, bad)
    if "overdue" in statuses and len(statuses) > 1 and params.get("voucherStatus") != "any":
        raise bad("voucherStatus overdue cannot be combined with other statuses")
    predicates = _filters(params, bad)
    try:
        page, size = page_params(params.get("page"), params.get("size"))
    except PagingError as exc:
        raise bad(str(exc)) from None
    sort_field, ascending = _sort(params.get("sort"), bad)

    state, principal = state_of(request), principal_of(request)
    with state.lock:
        org = state.organizations[principal.organization_id]
        invoices = state.invoices.for_org(principal.organization_id) if "invoice" in types else []
        now = now_berlin()
        matches = [(index, inv) for index, inv in enumerate(invoices)
                   if _status_matches(inv, statuses, now) and all(p(inv) for p in predicates)]
        if len(matches) > org.search_window:
            raise bad("Maximum search window size exceeded")
    matches.sort(key=_sort_key(sort_field), reverse=not ascending)
    return ok(envelope([voucherlist_item(inv) for _, inv in matches], page, size))


def _enum_list(value: str | None, name: str, allowed: tuple[str, ...],
               bad: Callable[[str], ApiError]) -> frozenset[str]:
    if not value:
        raise bad(f"Required request parameter '{name}' is not present")
    if value == "any":
        return frozenset(allowed)
    chosen = frozenset(v.strip() for v in value.split(","))
    unknown = sorted(chosen - set(allowed))
    if unknown:
        raise bad(f"Invalid {name}: {', '.join(unknown)}")
    return chosen


def _filters(params: Any, bad: Callable[[str], ApiError]) -> list[Predicate]:
    predicates: list[Predicate] = []
    for prefix, day_of in DATE_FILTERS.items():
        for suffix, keep in (("From", lambda d, bound: d >= bound), ("To", lambda d, bound: d <= bound)):
            raw = params.get(prefix + suffix)
            if raw is None:
                continue
            bound = parse_day(raw)
            if bound is None:
                raise bad(f"{prefix + suffix} must be a date in the format yyyy-MM-dd")
            predicates.append(_day_predicate(day_of, keep, bound))
    contact_id = params.get("contactId")
    if contact_id is not None:
        predicates.append(lambda inv: inv["address"].get("contactId") == contact_id)
    number = params.get("voucherNumber")
    if number is not None:
        decoded = decode_search_value(number)
        predicates.append(lambda inv: decoded is not None and inv["voucherNumber"] == decoded)
    archived = params.get("archived")
    if archived is not None:
        if archived not in ("true", "false"):
            raise bad("archived must be true or false")
        predicates.append(lambda inv: inv["archived"] == (archived == "true"))
    return predicates


def _day_predicate(day_of: Callable[[Invoice], date], keep: Callable[[date, date], bool],
                   bound: date) -> Predicate:
    return lambda inv: keep(day_of(inv), bound)


def _status_matches(invoice: Invoice, statuses: frozenset[str], now: datetime) -> bool:
    status = invoice["voucherStatus"]
    if status in statuses:
        return True
    return ("overdue" in statuses and status == "open" and invoice["dueDate"] is not None
            and datetime.fromisoformat(invoice["dueDate"]) < now)


def _sort(value: str | None, bad: Callable[[str], ApiError]) -> tuple[str, bool]:
    if not value:
        return DEFAULT_SORT
    field, _, direction = value.partition(",")
    direction = direction.strip().upper() or "ASC"
    if field not in SORT_FIELDS or direction not in ("ASC", "DESC"):
        raise bad(f"Invalid sort '{value}'; use one of {', '.join(SORT_FIELDS)} with ,ASC or ,DESC")
    return field, direction == "ASC"


def _sort_key(field: str) -> Callable[[tuple[int, Invoice]], Any]:
    """Creation order breaks ties, so paging through equal keys is stable."""
    if field == "createdDate":
        return lambda pair: pair[0]
    if field == "updatedDate":  # finalizing, paying or voiding changes it (sandbox/lifecycle.py)
        return lambda pair: (datetime.fromisoformat(pair[1]["updatedDate"]).timestamp(), pair[0])
    if field == "voucherDate":
        return lambda pair: (datetime.fromisoformat(pair[1]["voucherDate"]).timestamp(), pair[0])
    return lambda pair: (pair[1]["voucherNumber"] or "", pair[0])
