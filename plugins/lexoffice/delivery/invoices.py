"""Deliver invoice drafts: reconcile unknown rows, resolve contacts, then write-ahead ``sending`` -> POST -> ``sent``.

Invoices are always created as drafts (``finalize`` is never set): the accountant checks and sends them in
Lexware Office.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from lexoffice.client.api import LexofficeClient
from lexoffice.client.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    LexofficeError,
    NotFoundError,
    OutcomeUnknownError,
    PaymentRequiredError,
    RateLimitedError,
    ValidationRejectedError,
)
from lexoffice.delivery.budget import Budget
from lexoffice.delivery.contacts import ContactResolver
from lexoffice.delivery.progress import Progress, log_sent
from lexoffice.delivery.export_since import iter_sendable
from lexoffice.delivery.grace import DEFAULT_CONFIRM_GRACE_SECONDS
from lexoffice.delivery.reconcile import AmbiguousDraft, find_invoice_for_row
from lexoffice.delivery.rejections import reasons_from_error
from lexoffice.delivery.result import PAGE_SIZE, DeliveryResult, TenantBlocked, blocked_message
from lexoffice.documents import Stream
from lexoffice.state import outbox
from lexoffice.state.db import utcnow
from lexoffice.state.outbox import DocState
from lexoffice.state.tenants import Tenant

log = logging.getLogger(__name__)

# A freshly created contact may not be visible to the invoice endpoint for a moment (read-after-write lag).
CONTACT_LAG_RETRIES = 5
CONTACT_LAG_SLEEP = 1.0


@dataclass
class InvoiceDelivery:
    engine: sa.Engine
    client: LexofficeClient | None  # None in a dry run, which sends nothing
    tenant: Tenant
    run_id: str | None = None
    renew_lease: Callable[[], None] = lambda: None
    sleep: Callable[[float], None] = time.sleep
    confirm_grace_seconds: float = DEFAULT_CONFIRM_GRACE_SECONDS
    page_size: int = PAGE_SIZE
    budget: Budget = field(default_factory=Budget)

    def run(self, *, doc_keys: Sequence[str] | None = None, dry_run: bool = False) -> DeliveryResult:
        result = DeliveryResult(tenant_id=self.tenant.tenant_id, stream=Stream.INVOICES, dry_run=dry_run)
        if dry_run:
            result.preview(iter_sendable(self.engine, self.tenant, Stream.INVOICES, self._pending(doc_keys),
                                         dry_run=True), _preview)
            log.info("dry run: %d invoice draft(s) would be sent; nothing was sent", result.would_send_count)
            return result

        self._reconcile(result, doc_keys)
        # after reconciling (it may have released rows back to pending); export_since is checked on each.
        # Pending rows are read page by page as the delivery goes: the first request does not wait for the backlog.
        pending = iter_sendable(self.engine, self.tenant, Stream.INVOICES, self._pending(doc_keys))
        contacts = ContactResolver(self.engine, self.client, self.tenant.tenant_id, sleep=self.sleep,
                                   confirm_grace_seconds=self.confirm_grace_seconds)
        progress = Progress("invoice drafts", self._pending_count(doc_keys), log)
        try:
            for row in pending:
                if self.budget.spent():
                    result.stop_for_budget(log, "invoice drafts")
                    break
                self.renew_lease()
                self._deliver_one(row, contacts, result)
                progress.step()
        finally:
            result.pending_left = outbox.counts(
                self.engine, tenant_id=self.tenant.tenant_id, stream=Stream.INVOICES
            ).get(DocState.PENDING, 0)
        return result

    def _pending(self, doc_keys: Sequence[str] | None) -> Iterable[Any]:
        """Pending rows by id: keyset pages for a whole backlog; a selection of ids (bounded) in one read."""
        if doc_keys is None:
            return outbox.iter_rows(self.engine, tenant_id=self.tenant.tenant_id, stream=Stream.INVOICES,
                                    states=[DocState.PENDING], chunk_size=self.page_size)
        return outbox.rows(self.engine, tenant_id=self.tenant.tenant_id, stream=Stream.INVOICES,
                           states=[DocState.PENDING], doc_keys=doc_keys)

    def _pending_count(self, doc_keys: Sequence[str] | None) -> int:
        if doc_keys is not None:
            return len(doc_keys)
        return outbox.counts(self.engine, tenant_id=self.tenant.tenant_id, stream=Stream.INVOICES)[DocState.PENDING]

    # -- reconcile -------------------------------------------------------------------------------------------
    def _reconcile(self, result: DeliveryResult, doc_keys: Sequence[str] | None) -> None:
        """Rows whose POST may have reached Lexware are looked up before anything is sent again."""
        outbox.orphaned_sending_to_unknown(self.engine, tenant_id=self.tenant.tenant_id, stream=Stream.INVOICES)
        unknown = outbox.rows(
            self.engine, tenant_id=self.tenant.tenant_id, stream=Stream.INVOICES,
            states=[DocState.UNKNOWN], doc_keys=doc_keys,
        )
        for row in unknown:
            self._resolve_unknown(row, result)

    def _resolve_unknown(self, row: Any, result: DeliveryResult) -> bool | None:
        """Settle one ``unknown`` row: ``sent`` if Lexware has the draft; ``pending`` if it has none and the
        attempt is older than the grace period (Lexware may commit after a failure); else it stays ``unknown``.

        Returns None while the row stays ``unknown``; the next run looks again.
        """
        contact_id = ContactResolver.known_contact_id(self.engine, self.tenant.tenant_id, row.related)
        try:
            found = find_invoice_for_row(self.client, row, contact_id=contact_id)
        except AmbiguousDraft as err:
            result.unknown += 1
            outbox.note_unknown(self.engine, [row.id], note=f"{err}; not sent again - an accountant must check the "
                                "drafts in Lexware Office (`lexoffice audit`)")
            log.error("%s: %s. It stays 'unknown' and is not sent again; an accountant must check the drafts in "
                      "Lexware Office (see `lexoffice audit`)", row.source_ref, err)
            return None
        except LexofficeError as err:
            result.unknown += 1
            log.warning("%s: could not reconcile yet (%s); it stays 'unknown' and is never sent blindly",
                        row.source_ref, err)
            return None
        if found:
            sent_at = utcnow()
            outbox.mark_sent(self.engine, row.id, lexware_id=found["id"], sent_at=sent_at)
            log_sent(log, row, found["id"], sent_at)
            result.reconciled_sent += 1
            result.uncertain.append(row.doc_key)
            log.info("reconciled %s: Lexware already has draft %s; not sent again", row.source_ref, found["id"])
            return True
        if not outbox.settle_not_created(self.engine, row.id, grace_seconds=self.confirm_grace_seconds,
                                         note="reconciled: not in Lexware after the grace period, will be sent"):
            result.awaiting_confirmation += 1
            log.info("%s: not in Lexware yet; waiting to confirm with Lexware (wartet auf Bestätigung durch "
                     "Lexware) for up to %.0f s after the attempt before sending again", row.source_ref,
                     self.confirm_grace_seconds)
            return None
        result.reconciled_pending += 1
        log.info("reconciled %s: not in Lexware; it will be sent", row.source_ref)
        return False

    # -- send ------------------------------------------------------------------------------------------------
    def _deliver_one(self, row: Any, contacts: ContactResolver, result: DeliveryResult) -> None:
        try:
            contact_id = contacts.resolve(row.related)
        except OutcomeUnknownError as err:
            log.warning("%s: creating the customer contact had an unknown outcome (%s); retried next run",
                        row.source_ref, err)
            return
        except (ValidationRejectedError, ConflictError) as err:
            if outbox.claim(self.engine, row.id, run_id=self.run_id):
                outbox.mark_rejected(self.engine, row.id, reasons=reasons_from_error(err, what="customer contact"),
                                     error=str(err))
                result.rejected += 1
            return
        body = copy.deepcopy(row.payload)
        body["address"] = {"contactId": contact_id}
        if not outbox.claim(self.engine, row.id, run_id=self.run_id):
            log.info("%s was taken by another sender; skipped", row.source_ref)
            return
        for attempt in range(CONTACT_LAG_RETRIES + 1):
            try:
                created = self.client.create_invoice(body)
            except OutcomeUnknownError as err:
                outbox.mark_unknown(self.engine, row.id, error=str(err))
                log.warning("%s: outcome unknown (%s); reconciling before anything is sent again",
                            row.source_ref, err)
                fresh = outbox.rows(self.engine, tenant_id=self.tenant.tenant_id, stream=Stream.INVOICES,
                                    doc_keys=[row.doc_key])[0]
                self._resolve_unknown(fresh, result)
                return
            except ValidationRejectedError as err:
                if attempt < CONTACT_LAG_RETRIES and _is_contact_not_visible(err):
                    self.sleep(CONTACT_LAG_SLEEP)
                    continue
                outbox.mark_rejected(self.engine, row.id, reasons=reasons_from_error(err, what="invoice draft"),
                                     error=str(err))
                result.rejected += 1
                log.warning("%s rejected by Lexware: %s", row.source_ref, err)
                return
            except (ConflictError, NotFoundError) as err:
                outbox.mark_rejected(self.engine, row.id, reasons=reasons_from_error(err, what="invoice draft"),
                                     error=str(err))
                result.rejected += 1
                return
            except (RateLimitedError, AuthenticationError, ForbiddenError, PaymentRequiredError) as err:
                # Never executed by Lexware: safe to send again later.
                outbox.release_to_pending(self.engine, row.id, note=f"not executed: {err}")
                raise TenantBlocked(blocked_message(self.tenant, err)) from err
            except LexofficeError as err:
                outbox.release_to_pending(self.engine, row.id, note=f"not sent: {err}")
                raise TenantBlocked(f"tenant {self.tenant.tenant_id}: {err}") from err
            sent_at = utcnow()
            outbox.mark_sent(self.engine, row.id, lexware_id=created["id"], sent_at=sent_at)
            log_sent(log, row, created["id"], sent_at)
            result.sent += 1
            if row.attempts > 0:  # sent before with an unknown outcome, settled as not created
                result.uncertain.append(row.doc_key)
            return


def _is_contact_not_visible(err: LexofficeError) -> bool:
    return any((issue.field or "").startswith("address.contactId") for issue in err.issues)


def _preview(row: Any) -> dict[str, Any]:
    related = row.related or {}
    lines = (row.payload or {}).get("lineItems", [])
    return {
        "doc_key": row.doc_key,
        "source_ref": row.source_ref,
        "customer": (related.get("lookup") or {}).get("name") or related.get("customer_key"),
        "voucherDate": (row.payload or {}).get("voucherDate"),
        "lines": len(lines),
    }
