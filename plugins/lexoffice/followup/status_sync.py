"""The nightly status sync: read what became of every sent, not-final invoice in Lexware Office.

Two voucher-list queries per tenant (250 per page) answer for all open documents at once: the invoices still
open (draft, open, SEPA debit; created since the oldest open document was sent) and those settled (paid,
paid off, voided) since the oldest open document was last read. That costs about one request per 250 open
invoices plus one per 250 settled since the last night, not one per document. A document neither list shows
is asked about by id (``GET /v1/invoices``): 404 means the accountant deleted the draft; it is recorded as
``deleted`` and never re-sent automatically. (If Lexware did not move ``updatedDate`` when an invoice is
paid, such an invoice would still be found by that look-up: correct, one request dearer.) Documents sent
moments ago may not be listed yet, so they are not looked up before a grace period. It runs after the
tenant's delivery, holding the same organisation lease and the same rate budget.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from lexoffice.client.errors import NotFoundError
from lexoffice.delivery import preflight
from lexoffice.delivery.result import TenantBlocked
from lexoffice.state import lexware_status
from lexoffice.state.db import utcnow
from lexoffice.state.lexware_status import Observation, OpenSummary, SentDocument, StatusChange
from lexoffice.state.locks import OrganisationLease

log = logging.getLogger(__name__)
BERLIN = ZoneInfo("Europe/Berlin")
STREAM = "invoices"
#: A document sent less than this long ago may not be in the voucher list yet: not looked up by id.
LOOKUP_GRACE = timedelta(hours=1)
#: At most this many look-ups by id per run (each costs a request); the rest waits for the next night.
MAX_LOOKUPS = 250
#: Open documents read (and their statuses recorded) per page.
PAGE_SIZE = 1000


@dataclass
class SyncResult:
    """What one tenant's sync did; ``as_dict`` is small enough for XCom."""

    tenant_id: str
    open_before: int = 0
    observed: int = 0
    not_listed_yet: int = 0
    looked_up: int = 0
    deleted: int = 0
    unrecognised: int = 0
    requests: int = 0
    changes: list[StatusChange] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"tenant_id": self.tenant_id, "open_before": self.open_before, "observed": self.observed,
                "not_listed_yet": self.not_listed_yet, "looked_up": self.looked_up, "deleted": self.deleted,
                "unrecognised": self.unrecognised,
                "requests": self.requests, "changed": len(self.changes), "by_status": dict(self.by_status),
                "skipped": self.skipped}


def sync_statuses(engine: sa.Engine, client: Any, tenant: Any, *, run_id: str | None = None,
                  now: datetime | None = None, grace: timedelta = LOOKUP_GRACE,
                  max_lookups: int = MAX_LOOKUPS, page_size: int = PAGE_SIZE) -> SyncResult:
    """Observe and record the Lexware status of the tenant's open invoices (the caller holds the lease).

    The open documents are read and recorded a page at a time (``page_size``), so a tenant with a million sent
    invoices costs the memory of one page (plus Lexware's listing), not of all of them.
    """
    now = now or utcnow()
    result = SyncResult(tenant.tenant_id)
    summary = lexware_status.open_summary(engine, tenant_id=tenant.tenant_id, stream=STREAM)
    result.open_before = summary.count
    if not summary.count:
        return result
    listed = _listing(client, summary, now.astimezone(BERLIN).date())
    lookups: list[SentDocument] = []
    missing = 0
    for page in lexware_status.open_document_pages(engine, tenant_id=tenant.tenant_id, stream=STREAM,
                                                   page_size=page_size):
        observations: list[Observation] = []
        for doc in page:
            item = listed.pop(doc.lexware_id, None)
            if item is not None:
                _observe(result, observations, doc, item, now)
            elif not _old_enough(doc, now, grace):
                result.not_listed_yet += 1
            elif len(lookups) < max_lookups:
                lookups.append(doc)
            else:
                missing += 1
        _record(engine, result, observations, run_id, now)
    if missing:
        log.warning("tenant %s: %d sent invoices are missing from the voucher list; %d are looked up now, the rest "
                    "by the next run", tenant.tenant_id, len(lookups) + missing, max_lookups)
    observations = []
    for doc in lookups:
        result.looked_up += 1
        try:
            invoice = client.get_invoice(doc.lexware_id)
        except NotFoundError:
            observations.append(Observation(doc.doc_key, doc.lexware_id, "deleted", changed_at=now))
            result.deleted += 1
            continue
        _observe(result, observations, doc, invoice, now)
    _record(engine, result, observations, run_id, now)
    return result


def _record(engine: sa.Engine, result: SyncResult, observations: list[Observation], run_id: str | None,
            now: datetime) -> None:
    """Store one page's observations (one transaction) and count them into the result."""
    if not observations:
        return
    result.changes += lexware_status.record(engine, tenant_id=result.tenant_id, stream=STREAM,
                                            observations=observations, run_id=run_id, now=now)
    result.observed += len(observations)
    for obs in observations:
        result.by_status[obs.status] = result.by_status.get(obs.status, 0) + 1


def _observe(result: SyncResult, observations: list[Observation], doc: SentDocument, voucher: dict[str, Any],
             now: datetime) -> None:
    """One document's observation; a status this version does not know is logged and skipped, never fatal."""
    try:
        observations.append(observation(doc, voucher, now))
    except UnknownStatus as err:
        result.unrecognised += 1
        log.warning("%s", err)


class UnknownStatus(ValueError):
    """Lexware reported a status this version does not know (kept as it was; read again the next night)."""


def observation(doc: SentDocument, voucher: dict[str, Any], now: datetime) -> Observation:
    """A voucher-list item (or a whole invoice) as an observation; ``open`` past its due date is ``overdue``.

    Lexware derives "overdue" the same way (open, due date in the past) and a single invoice still says
    ``open``, so the sync derives it from the due date rather than spending a second query on it.
    """
    status = str(voucher.get("voucherStatus") or "")
    due = _moment(voucher.get("dueDate"))
    changed_at = _moment(voucher.get("updatedDate"))
    if status in ("open", "sepadebit") and due is not None and due < now:
        status, changed_at = "overdue", due
    if status not in lexware_status.LEXWARE_STATUSES or status == "deleted":
        raise UnknownStatus(f"Lexware reported status {status!r} for invoice {doc.lexware_id} ({doc.doc_key}); "
                            f"this version knows {', '.join(lexware_status.LEXWARE_STATUSES[:-1])}: the status "
                            "recorded before is kept")
    return Observation(doc.doc_key, doc.lexware_id, status, voucher.get("voucherNumber") or None,
                       due.astimezone(BERLIN).date() if due else None, changed_at)


#: voucher-list statuses of an invoice that may still change, and of one that is settled
NOT_FINAL = "draft,open,sepadebit"
SETTLED = "paid,paidoff,voided"


def _listing(client: Any, summary: OpenSummary, today: date) -> dict[str, dict[str, Any]]:
    """The invoices still open, created since the oldest open document was first attempted, and those settled
    since the oldest open document was last read (Berlin days, a day of margin); a later sighting wins."""
    first_attempt, first_unread = summary.first_attempt, summary.first_unread_since
    created_from = (first_attempt.astimezone(BERLIN).date() if first_attempt else today) - timedelta(days=1)
    updated_from = (first_unread.astimezone(BERLIN).date() if first_unread else today) - timedelta(days=1)
    tomorrow = today + timedelta(days=1)
    found: dict[str, dict[str, Any]] = {}
    for item in client.iter_voucherlist(voucher_type="invoice", voucher_status=NOT_FINAL,
                                        created_from=created_from, created_to=tomorrow):
        found[str(item.get("id"))] = item
    for item in client.iter_voucherlist(voucher_type="invoice", voucher_status=SETTLED, created_from=created_from,
                                        created_to=tomorrow, updated_from=updated_from, updated_to=tomorrow):
        found[str(item.get("id"))] = item
    return found


def _old_enough(doc: SentDocument, now: datetime, grace: timedelta) -> bool:
    return doc.sent_at is None or now - doc.sent_at >= grace


def _moment(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def run_for_tenant(*, state_engine: sa.Engine, tenant: Any, client_factory: Callable[[Any], Any],
                   run_id: str | None = None, lease_ttl: float = 120.0, lease_wait: float = 900.0,
                   grace: timedelta = LOOKUP_GRACE) -> SyncResult:
    """Preflight (connected, right organisation), then sync while holding the organisation's lease.

    Without the organisation check a wrong API key would make every invoice look deleted.
    """
    if not tenant.connected:
        result = SyncResult(tenant.tenant_id)
        result.skipped = (f"Mandant {tenant.tenant_id} ist von Lexware Office getrennt: Status nicht gelesen, "
                          "wieder nach `lexoffice tenant reconnect` (tenant disconnected: status not read)")
        return result
    client = client_factory(tenant)
    counted = {"requests": 0}
    try:
        lease = OrganisationLease(state_engine, org_key=tenant.organization_id or tenant.tenant_id,
                                  holder=f"status-sync {run_id or 'manual'}@{socket.gethostname()}:{os.getpid()}",
                                  ttl_seconds=lease_ttl)

        def before_request() -> None:
            counted["requests"] += 1
            if lease.held:
                lease.renew_if_due()

        client.before_request = before_request
        preflight.check_profile(tenant, client.get_profile(), refuse_small_business=False)
        if not lease.acquire(wait_seconds=lease_wait):
            raise TenantBlocked(f"Mandant {tenant.tenant_id}: eine Übertragung an dieselbe Lexware-Organisation lief "
                                f"länger als {lease_wait:.0f} s; der Status wird im nächsten Lauf gelesen (a delivery "
                                f"to organisation {tenant.organization_id} kept the lease; status read next run)")
        try:
            result = sync_statuses(state_engine, client, tenant, run_id=run_id, grace=grace)
        finally:
            lease.release()
    finally:
        client.before_request = None
        client.close()
    result.requests = counted["requests"]
    return result
