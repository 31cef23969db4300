"""Row 8: what the nightly status sync costs in requests, against a sandbox organisation at 2 requests/s.

``documents`` drafts are really created in the sandbox and recorded as sent (yesterday) in a PostgreSQL state
database; the accountant then finalizes, pays, voids, makes overdue and deletes some through the admin routes.
``status_sync.run_for_tenant`` (what the DAG's status task runs, with ``DbRateLimiter``) reads them back.
Requests and 429s come from the sandbox's request log; every recorded status is compared with the sandbox's
own invoices. A second sync right after shows the steady nightly cost (final statuses are not asked again).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pendulum
import requests

from bench.infra import Infra
from bench.scales import LEXWARE_RATE
from bench.table import Row, fmt_s

STREAM = "invoices"
TENANT = "status"
PAGE = 250


@dataclass
class SyncRun:
    documents: int
    deleted: int = 0
    first_requests: list[tuple[str, str, int | None]] = field(default_factory=list)
    second_requests: list[tuple[str, str, int | None]] = field(default_factory=list)
    first_seconds: float = 0.0
    expected_first: int = 0
    expected_second: int = 0
    mismatched: list[str] = field(default_factory=list)
    error: str | None = None


def _plan(index: int) -> list[tuple[str, dict[str, Any]]]:
    """What the accountant does to draft ``index``: 2 % deleted, 5 % overdue, 10 % paid, 5 % voided, 20 % open."""
    slot = index % 100
    if slot < 2:
        return [("delete", {})]
    if slot < 7:
        return [("finalize", {"due_date": "2025-01-31"})]
    if slot < 17:
        return [("finalize", {"due_date": "2999-12-31"}), ("pay", {})]
    if slot < 22:
        return [("finalize", {"due_date": "2999-12-31"}), ("void", {})]
    if slot < 42:
        return [("finalize", {"due_date": "2999-12-31"})]
    return []


def _staged(key: str) -> Any:
    """A sent-to-be draft in the outbox; its content does not matter to the status sync."""
    from lexoffice.documents import StagedDocument, content_hash

    return StagedDocument(doc_key=key, content_hash=content_hash(key), payload={"title": "Rechnung"}, reasons=(),
                          source_ref=f"RE-{key}", event_time=datetime(2026, 10, 1, tzinfo=UTC), group_key=None,
                          sort_key=key, related={})


def _draft_body(doc_key: str) -> dict[str, Any]:
    """A valid draft as the delivery would create it (the reference line marks it as ours)."""
    from lexoffice.payloads import REFERENCE_MARKER

    return {"voucherDate": "2026-10-01T00:00:00.000+02:00",
            "address": {"name": "Status GmbH", "countryCode": "DE"},
            "lineItems": [{"type": "custom", "name": "Leistung", "quantity": 1, "unitName": "Stück",
                           "unitPrice": {"currency": "EUR", "netAmount": 100, "taxRatePercentage": 19}}],
            "totalPrice": {"currency": "EUR"}, "taxConditions": {"taxType": "net"},
            "shippingConditions": {"shippingType": "none"}, "remark": f"{REFERENCE_MARKER}{doc_key}"}


def measure(infra: Infra, documents: int) -> SyncRun:
    from lexoffice.client import ApiKeyAuth, LexofficeClient
    from lexoffice.followup.status_sync import run_for_tenant
    from lexoffice.state import lexware_status, outbox, tenants
    from lexoffice.state.db import init_db, make_engine
    from lexoffice.provider.connections import rate_limiter

    run = SyncRun(documents)
    engine = make_engine(infra.database("status_state"))
    try:
        init_db(engine)
        org = infra.sandbox.admin("POST", "/organizations", json={"company_name": "Status GmbH",
                                                                  "rate_limit_per_second": None})
        org_id, key, base = org["organization_id"], org["api_key"], infra.sandbox.base_url
        tenants.add_tenant(engine, tenant_id=TENANT, name="Status GmbH", lexoffice_conn_id="bench",
                           invoice_company_id="c1")
        tenants.record_connect(engine, TENANT, organization_id=org_id, at=pendulum.now("UTC") - timedelta(days=2))
        keys = [f"draft:{i:06d}" for i in range(documents)]
        outbox.stage(engine, tenant_id=TENANT, stream=STREAM, docs=[_staged(k) for k in keys])
        yesterday = pendulum.now("UTC") - timedelta(days=1)
        ids: dict[str, str] = {}
        with LexofficeClient(base, ApiKeyAuth(key), allow_insecure_http=True) as client:
            for row in outbox.rows(engine, tenant_id=TENANT, stream=STREAM):
                outbox.claim(engine, row.id)
                ids[row.doc_key] = client.create_invoice(_draft_body(row.doc_key))["id"]
                outbox.mark_sent(engine, row.id, lexware_id=ids[row.doc_key], sent_at=yesterday)
        admin = requests.Session()
        for index, doc_key in enumerate(keys):
            for action, body in _plan(index):
                url = f"{base}/_admin/organizations/{org_id}/invoices/{ids[doc_key]}"
                answer = admin.delete(url, timeout=30) if action == "delete" else admin.post(
                    f"{url}/{action}", json=body or None, timeout=30)
                answer.raise_for_status()
                run.deleted += action == "delete"
        infra.sandbox.admin("PATCH", f"/organizations/{org_id}", json={"rate_limit_per_second": LEXWARE_RATE})
        left = [inv["voucherStatus"] for inv in infra.sandbox.admin("GET", f"/organizations/{org_id}/invoices")]
        open_now = sum(1 for status in left if status in ("draft", "open"))
        run.expected_first = expected_requests(open_now, len(left) - open_now, run.deleted)
        run.expected_second = expected_requests(open_now, len(left) - open_now, 0)

        limiter = rate_limiter(engine)  # the DAGs' limiter
        tenant = tenants.get_tenant(engine, TENANT)

        def client_factory(_: Any) -> Any:
            return LexofficeClient(base, ApiKeyAuth(key), allow_insecure_http=True, rate_limiter=limiter,
                                   rate_key=org_id)

        def logged() -> list[tuple[str, str, int | None]]:
            return [(r["method"], r["path"], r["status"])
                    for r in infra.sandbox.admin("GET", f"/organizations/{org_id}/requests")]

        mark = len(logged())
        started = time.monotonic()
        run_for_tenant(state_engine=engine, tenant=tenant, client_factory=client_factory, run_id="bench")
        run.first_seconds = time.monotonic() - started
        run.first_requests = logged()[mark:]
        mark += len(run.first_requests)
        run_for_tenant(state_engine=engine, tenant=tenant, client_factory=client_factory, run_id="bench-2")
        run.second_requests = logged()[mark:]

        in_lexware = {inv["id"]: inv for inv in infra.sandbox.admin("GET", f"/organizations/{org_id}/invoices")}
        recorded = lexware_status.statuses(engine, tenant_id=TENANT, stream=STREAM)
        now = pendulum.now("UTC")
        for doc_key, lexware_id in ids.items():
            invoice = in_lexware.get(lexware_id)
            expected = ("deleted", None) if invoice is None else (_status(invoice, now), invoice["voucherNumber"])
            got = recorded.get(doc_key)
            if got is None or (got.status, got.voucher_number) != expected:
                run.mismatched.append(doc_key)
    except Exception as err:  # a benchmark row says FAILED and why; the other rows still print
        run.error = f"{type(err).__name__}: {err}"
    finally:
        engine.dispose()
    return run


def _status(invoice: dict[str, Any], now: Any) -> str:
    status = invoice["voucherStatus"]
    due = invoice.get("dueDate")
    if status == "open" and due and pendulum.parse(due) < now:
        return "overdue"
    return str(status)


def expected_requests(still_open: int, settled: int, deleted: int) -> int:
    """Profile + the pages of open and of settled invoices (at least one each) + one look-up per deleted draft."""
    return 1 + max(1, math.ceil(still_open / PAGE)) + max(1, math.ceil(settled / PAGE)) + deleted


def row(run: SyncRun) -> Row:
    key, what = "8.status_sync", f"Status sync, {run.documents:,} sent drafts ({run.deleted} deleted in Lexware)"
    target = ("profile + 1 per 250 open + 1 per 250 settled since the last sync + 1 per deleted draft; "
              "0 x 429; every status as in Lexware")
    if run.error:
        return Row.failed(key, what, run.error, target)
    def kinds(requests_: list[tuple[str, str, int | None]]) -> str:
        lists = sum(1 for _, path, _ in requests_ if path == "/v1/voucherlist")
        lookups = sum(1 for _, path, _ in requests_ if path.startswith("/v1/invoices/"))
        return f"{len(requests_)} requests ({lists} voucher-list pages, {lookups} look-ups)"

    limited = sum(1 for *_, status in run.first_requests + run.second_requests if status == 429)
    expected = run.expected_first
    result = (f"first night {kinds(run.first_requests)} in {fmt_s(run.first_seconds)}, "
              f"= {len(run.first_requests) / run.documents:.4f} per draft; next night {kinds(run.second_requests)}; "
              f"{limited} x 429; {run.documents - len(run.mismatched):,} of {run.documents:,} statuses as in Lexware")
    met = (len(run.first_requests) == expected and len(run.second_requests) == run.expected_second
           and limited == 0 and not run.mismatched)
    return Row.judged(key, what, result, f"{expected}, then {run.expected_second} requests: {target}", met)
