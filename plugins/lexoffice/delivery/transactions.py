"""Deliver completed bank and card transactions through the partner finance API (UNVERIFIED against the partner
documentation; see docs/architecture.md).

Per account, in our push order, in batches of at most 25, each transaction's source id as ``externalReference``.
Financial accounts are created once per IBAN (or adopted when Lexware already has one for the IBAN).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, groupby, islice
from typing import Any

import sqlalchemy as sa

from lexoffice.client.api import LexofficeClient
from lexoffice.client.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    LexofficeError,
    OutcomeUnknownError,
    PaymentRequiredError,
    RateLimitedError,
    ValidationRejectedError,
)
from lexoffice.delivery.accounts import AccountResolver
from lexoffice.delivery.budget import Budget
from lexoffice.delivery.progress import Progress, log_sent
from lexoffice.delivery.export_since import iter_sendable
from lexoffice.delivery.grace import DEFAULT_CONFIRM_GRACE_SECONDS, create_unconfirmed
from lexoffice.delivery.reconcile import judge_unknown_batch
from lexoffice.delivery.rejections import reasons_from_error
from lexoffice.delivery.result import PAGE_SIZE, DeliveryResult, TenantBlocked, blocked_message
from lexoffice.documents import Stream
from lexoffice.state import outbox
from lexoffice.state.db import utcnow
from lexoffice.state.outbox import DocState
from lexoffice.state.tenants import Tenant

log = logging.getLogger(__name__)

BATCH_SIZE = 25  # the partner API takes at most 25 transactions per request


def _by_account(rows: Sequence[Any]) -> list[tuple[str, list[Any]]]:
    ordered = sorted(rows, key=lambda r: (r.group_key or "", r.sort_key or "", r.id))
    return [(iban, list(group)) for iban, group in groupby(ordered, key=lambda r: r.group_key or "")]


@dataclass
class TransactionDelivery:
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
        result = DeliveryResult(tenant_id=self.tenant.tenant_id, stream=Stream.TRANSACTIONS, dry_run=dry_run)
        if dry_run:
            pending = chain.from_iterable(rows for _, rows in self._pending_by_account(doc_keys, dry_run=True))
            result.preview(pending, _preview)
            log.info("dry run: %d transaction(s) would be sent; nothing was sent", result.would_send_count)
            return result

        accounts = AccountResolver(self.engine, self.client, self.tenant.tenant_id)
        outbox.orphaned_sending_to_unknown(self.engine, tenant_id=self.tenant.tenant_id, stream=Stream.TRANSACTIONS)
        blocked_accounts: set[str] = set()
        for iban, rows in _by_account(self._rows([DocState.UNKNOWN], doc_keys)):
            if not self._reconcile_account(iban, rows, accounts, result):
                blocked_accounts.add(iban)

        total = len(doc_keys) if doc_keys is not None else outbox.counts(
            self.engine, tenant_id=self.tenant.tenant_id, stream=Stream.TRANSACTIONS)[DocState.PENDING]
        progress = Progress("transactions", total, log)
        try:
            for iban, rows in self._pending_by_account(doc_keys):
                if result.budget_spent:
                    break
                if iban in blocked_accounts:
                    log.warning("account %s: earlier outcome still unknown; its transactions wait", iban)
                    continue
                first = next(rows, None)
                if first is None:
                    continue
                if self._account_create_unconfirmed(iban, accounts):
                    log.warning("account %s: an earlier create of its financial account had an unknown outcome and "
                                "Lexware does not show it yet; waiting to confirm with Lexware (wartet auf "
                                "Bestätigung durch Lexware); its transactions wait", iban)
                    continue
                try:
                    account_id = accounts.resolve(first.related)
                except OutcomeUnknownError as err:
                    # Like a contact: the account may exist now; the next run looks it up before creating again.
                    log.warning("account %s: creating the financial account had an unknown outcome (%s); its "
                                "transactions wait for the next run", iban, err)
                    continue
                except (ValidationRejectedError, ConflictError) as err:  # this account only; the others go on
                    result.rejected += accounts.reject(list(chain([first], rows)), err, run_id=self.run_id)
                    continue
                for batch in _batches(chain([first], rows), BATCH_SIZE):
                    if self.budget.spent():
                        result.stop_for_budget(log, "transactions")
                        break
                    self.renew_lease()
                    if not self._push_batch(iban, account_id, batch, accounts, result):
                        break  # keep the account's order: the rest waits for the next run
                    progress.step(len(batch))
        finally:
            result.pending_left = outbox.counts(
                self.engine, tenant_id=self.tenant.tenant_id, stream=Stream.TRANSACTIONS
            ).get(DocState.PENDING, 0)
        return result

    def _pending_by_account(self, doc_keys: Sequence[str] | None, *,
                            dry_run: bool = False) -> Iterator[tuple[str, Iterator[Any]]]:
        """Per account, its sendable pending rows in push order. The whole backlog streams in keyset pages (one
        account at a time, so memory stays flat); a selection of ids (bounded) is read at once."""
        if doc_keys is not None:
            for iban, rows in _by_account(self._rows([DocState.PENDING], doc_keys)):
                yield iban, iter_sendable(self.engine, self.tenant, Stream.TRANSACTIONS, rows, dry_run=dry_run)
            return
        for iban in outbox.group_keys(self.engine, tenant_id=self.tenant.tenant_id, stream=Stream.TRANSACTIONS,
                                      state=DocState.PENDING):
            rows = outbox.iter_group_rows(self.engine, tenant_id=self.tenant.tenant_id, stream=Stream.TRANSACTIONS,
                                          state=DocState.PENDING, group_key=iban, chunk_size=self.page_size)
            yield iban, iter_sendable(self.engine, self.tenant, Stream.TRANSACTIONS, rows, dry_run=dry_run)

    def _account_create_unconfirmed(self, iban: str, accounts: AccountResolver) -> bool:
        """The account's create may still appear in Lexware (unknown outcome, inside the grace period)."""
        mapping = accounts.mapping(iban)
        if not create_unconfirmed(mapping, self.confirm_grace_seconds):
            return False
        return accounts.known_account_id(iban) is None

    def _rows(self, states: list[DocState], doc_keys: Sequence[str] | None) -> list[Any]:
        return outbox.rows(self.engine, tenant_id=self.tenant.tenant_id, stream=Stream.TRANSACTIONS,
                           states=states, doc_keys=doc_keys, order_by_sort_key=True)

    # -- reconcile -------------------------------------------------------------------------------------------
    def _reconcile_account(self, iban: str, rows: list[Any], accounts: AccountResolver,
                           result: DeliveryResult) -> bool:
        """Settle the ``unknown`` rows of one account. False while they stay ``unknown`` (the account waits)."""
        try:
            account_id = accounts.known_account_id(iban)
            latest = self.client.latest_transaction(account_id) if account_id else None
        except LexofficeError as err:
            result.unknown += len(rows)
            log.warning("account %s: could not reconcile yet (%s); %d row(s) stay 'unknown'", iban, err, len(rows))
            return False
        ordered = sorted(rows, key=lambda r: (r.sort_key or "", r.id))
        last_sent = outbox.last_sent_in_group(self.engine, tenant_id=self.tenant.tenant_id,
                                              stream=Stream.TRANSACTIONS, group_key=iban)
        verdict = judge_unknown_batch(latest, [_reference(r) for r in ordered],
                                      _reference(last_sent) if last_sent else None)
        if verdict.landed is None:
            result.unknown += len(rows)
            outbox.note_unknown(self.engine, [r.id for r in ordered], note=(
                f"cannot tell whether this transaction reached Lexware: {verdict.why}. Not sent again; check the "
                "account in Lexware Office for this externalReference (`lexoffice audit`)"))
            log.error("account %s: cannot tell whether %d transaction(s) of unknown outcome reached Lexware: %s. "
                      "They stay 'unknown' and are NOT sent again. Check the account in Lexware Office for the "
                      "externalReferences %s (`lexoffice audit`)", iban, len(rows), verdict.why,
                      ", ".join(_reference(r) for r in ordered))
            return False
        if verdict.landed:
            for row in ordered[:-1]:
                outbox.mark_sent(self.engine, row.id, lexware_id=None, id_not_returned=(
                    "in Lexware (its batch ended with the account's latest transaction); the partner API "
                    "returns no id for it"))
            outbox.mark_sent(self.engine, ordered[-1].id, lexware_id=verdict.latest_id, id_not_returned=(
                None if verdict.latest_id else "in Lexware; latest-transaction returned no id"))
            result.reconciled_sent += len(rows)
            result.uncertain += [r.doc_key for r in ordered]
            log.info("account %s: reconciled %d unknown transaction(s): already in Lexware", iban, len(rows))
            return True
        waiting = 0
        for row in ordered:
            if outbox.settle_not_created(self.engine, row.id, grace_seconds=self.confirm_grace_seconds,
                                         note="reconciled: not in Lexware after the grace period, will be sent"):
                result.reconciled_pending += 1
            else:
                waiting += 1
        if waiting:
            result.awaiting_confirmation += waiting
            log.info("account %s: %d transaction(s) not in Lexware yet; waiting to confirm with Lexware (wartet "
                     "auf Bestätigung durch Lexware) for up to %.0f s after the attempt", iban, waiting,
                     self.confirm_grace_seconds)
            return False
        log.info("account %s: reconciled %d unknown transaction(s): not in Lexware, to send", iban, len(rows))
        return True

    # -- send ------------------------------------------------------------------------------------------------
    def _push_batch(self, iban: str, account_id: str, batch: list[Any], accounts: AccountResolver,
                    result: DeliveryResult) -> bool:
        claimed = [row for row in batch if outbox.claim(self.engine, row.id, run_id=self.run_id)]
        if not claimed:
            return True
        bodies = []
        for row in claimed:
            body = copy.deepcopy(row.payload)
            body["financialAccountId"] = account_id
            bodies.append(body)
        try:
            created = self.client.push_transactions(bodies)
        except OutcomeUnknownError as err:
            for row in claimed:
                outbox.mark_unknown(self.engine, row.id, error=str(err))
            log.warning("account %s: outcome of a batch of %d unknown (%s); reconciling now", iban, len(claimed), err)
            fresh = self._rows([DocState.UNKNOWN], [r.doc_key for r in claimed])
            self._reconcile_account(iban, fresh, accounts, result)
            return False
        except (ValidationRejectedError, ConflictError) as err:
            if len(claimed) == 1:
                outbox.mark_rejected(self.engine, claimed[0].id, reasons=reasons_from_error(err, what="transaction"),
                                     error=str(err))
                result.rejected += 1
                return True
            # One bad transaction must not hold back the others: nothing was executed, so send them one by one.
            for row in claimed:
                outbox.release_to_pending(self.engine, row.id, note="batch rejected; sending one by one")
            for row in claimed:
                if not self._push_batch(iban, account_id, [row], accounts, result):
                    return False
            return True
        except (RateLimitedError, AuthenticationError, ForbiddenError, PaymentRequiredError) as err:
            for row in claimed:
                outbox.release_to_pending(self.engine, row.id, note=f"not executed: {err}")
            raise TenantBlocked(blocked_message(self.tenant, err)) from err
        except LexofficeError as err:
            for row in claimed:
                outbox.release_to_pending(self.engine, row.id, note=f"not sent: {err}")
            raise TenantBlocked(f"tenant {self.tenant.tenant_id}: {err}") from err
        by_ref = {str(item.get("externalReference")): item for item in created or []}
        for position, row in enumerate(claimed):
            ref = str(row.payload.get("externalReference"))
            item = by_ref.get(ref) or (created[position] if position < len(created or []) else {})
            lexware_id, sent_at = item.get("financialTransactionId"), utcnow()
            outbox.mark_sent(self.engine, row.id, lexware_id=str(lexware_id) if lexware_id else None, sent_at=sent_at,
                             id_not_returned=None if lexware_id else "created; Lexware's answer carried no id")
            log_sent(log, row, str(lexware_id) if lexware_id else "(keine ID / no id)", sent_at)
            result.sent += 1
        return True


def _batches(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _reference(row: Any) -> str:
    return str((row.payload or {}).get("externalReference", ""))


def _preview(row: Any) -> dict[str, Any]:
    payload = row.payload or {}
    return {
        "doc_key": row.doc_key,
        "source_ref": row.source_ref,
        "account": row.group_key,
        "amount": payload.get("amount"),
        "transactiondate": payload.get("transactiondate"),
    }
