"""The duplicate audit: which of a tenant's documents exist more than once in Lexware Office.

Invoice drafts are found by their reference line (the last ``remark`` line, ending in ``lxa:<doc_key>``): the
full audit lists every draft created since the tenant's export_since (``/v1/voucherlist``) and reads each once,
so it costs one request per draft and belongs in ``lexoffice audit``, not in every run. The report task runs a
cheap check instead: only documents whose outcome was ever uncertain (more than one attempt) are looked up.

Transactions: the partner API has no list and no lookup by ``externalReference`` (reference notes §10.2), so
the audit can only read each account's ``latest-transaction``: when it carries the reference of a transaction we
recorded under another Lexware id, that reference exists twice. Duplicates further back are not visible through
the API; the accountant sees them in Lexware Office's account view.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pendulum
import sqlalchemy as sa

from lexoffice.client.api import LexofficeClient
from lexoffice.delivery.accounts import AccountResolver
from lexoffice.delivery.contacts import ContactResolver
from lexoffice.delivery.reconcile import BERLIN, carries_reference, reference_line_of
from lexoffice.documents import Stream
from lexoffice.payloads import REFERENCE_MARKER, transaction_doc_key
from lexoffice.state import duplicates, outbox
from lexoffice.state.duplicates import Duplicate
from lexoffice.state.outbox import DocState
from lexoffice.state.tenants import Tenant

log = logging.getLogger(__name__)
ADVICE = {
    Stream.INVOICES: ("Delete the extra draft(s) in Lexware Office (Belege → Rechnungen → Entwürfe), keep the one "
                      "whose id the report shows. / Bitte den überzähligen Entwurf in Lexware Office löschen."),
    Stream.TRANSACTIONS: ("Check the account in Lexware Office and delete the extra transaction. / Bitte die "
                          "doppelte Umsatzbuchung im Konto in Lexware Office löschen."),
}


@dataclass
class AuditResult:
    tenant_id: str
    stream: str
    checked: int = 0
    duplicates: list[Duplicate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _doc_key_of(line: str) -> str | None:
    """The doc key at the end of a reference line (``… · lxa:draft:42``), or None for any other line."""
    head, sep, key = line.strip().rpartition(REFERENCE_MARKER)
    return key if sep and key and " " not in key and (not head or head.endswith(" ")) else None


def audit_invoices(engine: sa.Engine, client: LexofficeClient, tenant: Tenant, *,
                   created_from: date | None = None) -> AuditResult:
    """Every draft created since ``created_from`` (default: the tenant's export_since), grouped by reference."""
    result = AuditResult(tenant.tenant_id, Stream.INVOICES)
    since = created_from or tenant.export_since or (pendulum.now(BERLIN).date() - timedelta(days=365))
    ours = {r.doc_key: r for r in outbox.rows(engine, tenant_id=tenant.tenant_id, stream=Stream.INVOICES,
                                             states=[DocState.SENT, DocState.UNKNOWN, DocState.SENDING])}
    found: dict[str, list[str]] = {}
    for item in client.iter_voucherlist(voucher_type="invoice", voucher_status="any", created_from=since,
                                        created_to=pendulum.now(BERLIN).date() + timedelta(days=1)):
        result.checked += 1
        invoice = client.get_invoice(item["id"])
        for line in str(invoice.get("remark") or "").splitlines():
            key = _doc_key_of(line)
            row = ours.get(key) if key else None
            if row is not None and carries_reference(invoice, reference_line_of(row.payload)):
                found.setdefault(key, []).append(str(invoice["id"]))
    result.duplicates = [Duplicate(k, ids, ADVICE[Stream.INVOICES]) for k, ids in sorted(found.items())
                         if len(ids) > 1]
    duplicates.replace(engine, tenant_id=tenant.tenant_id, stream=Stream.INVOICES, found=result.duplicates)
    return result


def check_uncertain_invoices(engine: sa.Engine, client: LexofficeClient, tenant: Tenant,
                             rows: Iterable[Any]) -> AuditResult:
    """The cheap check: only the given sent rows whose outcome was ever uncertain (more than one attempt, or
    reconciled) are looked up, by their customer and the days around their attempt."""
    result = AuditResult(tenant.tenant_id, Stream.INVOICES)
    checked: list[str] = []
    for row in rows:
        if row.state != DocState.SENT or (row.attempts <= 1 and not row.last_error):
            continue
        checked.append(row.doc_key)
        contact_id = ContactResolver.known_contact_id(engine, tenant.tenant_id, row.related)
        start = pendulum.instance(row.sending_started_at or row.staged_at).in_timezone(BERLIN).date()
        ids = []
        for item in client.iter_voucherlist(voucher_type="invoice", voucher_status="any", contact_id=contact_id,
                                            created_from=start - timedelta(days=1),
                                            created_to=pendulum.now(BERLIN).date() + timedelta(days=1)):
            invoice = client.get_invoice(item["id"])
            if carries_reference(invoice, reference_line_of(row.payload)):
                ids.append(str(invoice["id"]))
        if len(ids) > 1:
            result.duplicates.append(Duplicate(row.doc_key, ids, ADVICE[Stream.INVOICES]))
    result.checked = len(checked)
    if checked:
        duplicates.replace(engine, tenant_id=tenant.tenant_id, stream=Stream.INVOICES, found=result.duplicates,
                           checked=checked)
    return result


def audit_transactions(engine: sa.Engine, client: LexofficeClient, tenant: Tenant) -> AuditResult:
    """Per account: does the latest transaction carry a reference we recorded under another Lexware id?"""
    result = AuditResult(tenant.tenant_id, Stream.TRANSACTIONS)
    accounts = AccountResolver(engine, client, tenant.tenant_id)
    ibans = sorted({r.group_key for r in outbox.iter_rows(engine, tenant_id=tenant.tenant_id,
                                                          stream=Stream.TRANSACTIONS, states=[DocState.SENT])
                    if r.group_key})
    for iban in ibans:
        account_id = accounts.known_account_id(iban)
        latest = client.latest_transaction(account_id) if account_id else None
        result.checked += 1
        if not latest:
            continue
        reference = str(latest.get("externalReference") or "")
        rows = outbox.rows(engine, tenant_id=tenant.tenant_id, stream=Stream.TRANSACTIONS,
                           doc_keys=[transaction_doc_key(reference)]) if reference else []
        latest_id = str(latest.get("financialTransactionId") or "")
        if rows and rows[0].lexware_id and rows[0].lexware_id != latest_id:
            result.duplicates.append(Duplicate(rows[0].doc_key, [rows[0].lexware_id, latest_id],
                                               ADVICE[Stream.TRANSACTIONS]))
        elif not rows:
            result.notes.append(f"account {iban}: the latest transaction ({reference or 'no externalReference'}, "
                                f"{latest_id}) was not pushed by this project (a CSV import or another integration)")
    duplicates.replace(engine, tenant_id=tenant.tenant_id, stream=Stream.TRANSACTIONS, found=result.duplicates)
    return result


def _cheap_invoices(engine: sa.Engine, client: LexofficeClient, tenant: Tenant, doc_keys: list[str],
                    created_from: date | None) -> AuditResult:
    rows = outbox.rows(engine, tenant_id=tenant.tenant_id, stream=Stream.INVOICES, doc_keys=doc_keys)
    return check_uncertain_invoices(engine, client, tenant, rows)


def _full_invoices(engine: sa.Engine, client: LexofficeClient, tenant: Tenant, doc_keys: list[str],
                   created_from: date | None) -> AuditResult:
    return audit_invoices(engine, client, tenant, created_from=created_from)


def _latest_transactions(engine: sa.Engine, client: LexofficeClient, tenant: Tenant, doc_keys: list[str],
                         created_from: date | None) -> AuditResult:
    return audit_transactions(engine, client, tenant)  # the API offers nothing cheaper, nor anything fuller


_Check = Callable[[sa.Engine, LexofficeClient, Tenant, list[str], date | None], AuditResult]
#: per stream: (the report's cheap check of this run's documents, the full audit of ``lexoffice audit``)
CHECKS: dict[Stream, tuple[_Check, _Check]] = {
    Stream.INVOICES: (_cheap_invoices, _full_invoices),
    Stream.TRANSACTIONS: (_latest_transactions, _latest_transactions),
}


def check_after_run(engine: sa.Engine, client: LexofficeClient, tenant: Tenant, stream: Stream | str,
                    doc_keys: list[str]) -> AuditResult:
    """The report's cheap duplicate check of the documents this run touched, the stream's way."""
    return CHECKS[Stream(stream)][0](engine, client, tenant, doc_keys, None)


def audit(engine: sa.Engine, client: LexofficeClient, tenant: Tenant, stream: Stream | str, *,
          created_from: date | None = None) -> AuditResult:
    """The full audit of one stream (``lexoffice audit``)."""
    return CHECKS[Stream(stream)][1](engine, client, tenant, [], created_from)


def describe(result: AuditResult) -> list[str]:
    """Lines a person reads: what was checked, each duplicate with its Lexware ids and what to do."""
    lines = [f"{result.tenant_id} · {result.stream}: {result.checked} checked, "
             f"{len(result.duplicates)} present more than once in Lexware"]
    for dup in result.duplicates:
        lines.append(f"  {dup.doc_key}: {len(dup.lexware_ids)}x in Lexware ({', '.join(dup.lexware_ids)}). "
                     f"{dup.note}")
    lines += [f"  note: {n}" for n in result.notes]
    return lines
