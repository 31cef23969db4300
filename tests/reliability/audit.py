"""The promise, checked from both ends: the outbox (what we believe) against the sandbox (what Lexware has).

For one tenant and stream, after the reruns:

* every valid source document exists in Lexware exactly once (invoices by the ``lxa:<doc_key>`` marker in
  ``remark``, transactions by ``externalReference``), and no invalid one exists there at all;
* nothing is lost: every source document is in the outbox, in a final state (sent, invalid or rejected);
* every invalid or rejected row carries its reasons, including the expected code;
* the outbox agrees with the sandbox: a sent row's ``lexware_id`` is the object carrying its marker;
* contacts and financial accounts exist once per customer and per source account (they are POSTs too);
  accounts are counted by ``externalReference`` (the source account id): a card account may share the
  giro's IBAN, or have none, and still be its own account.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.reliability.ledger import LEDGER, Row
from tests.support.world import World

MARKER = re.compile(r"(?<![\w:])lxa:(\S+)")
# Transaction rows settled by reconcile get the real id only for the account's latest transaction; the
# partner API has no lookup by externalReference, so the others carry no id (and a note saying why).
CUSTOMER_MARKER = re.compile(r"^lxa:(customer:\S+)$", re.MULTILINE)


@dataclass
class Outcome:
    case: str
    documents: int = 0
    delivered: int = 0
    duplicates: int = 0
    lost: int = 0
    reasons: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def seen(self) -> str:
        parts = [", ".join(sorted(self.reasons))] if self.reasons else []
        return "; ".join(parts + self.notes) or "-"

    def check(self, *, expected_reasons: Iterable[str] = ()) -> Outcome:
        """Assert the promise, then add the row to the summary table."""
        missing = set(expected_reasons) - self.reasons
        assert not self.problems, f"{self.case}: " + "; ".join(self.problems)
        assert not missing, f"{self.case}: expected reasons not recorded: {sorted(missing)}"
        assert self.duplicates == 0, f"{self.case}: {self.duplicates} duplicate(s) in Lexware"
        assert self.lost == 0, f"{self.case}: {self.lost} document(s) lost"
        LEDGER.add(Row(self.case, self.documents, self.delivered, self.duplicates, self.lost, self.seen()))
        return self


def invoice_markers(invoices: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """doc_key -> ids of the Lexware invoices whose remark carries its marker."""
    found: dict[str, list[str]] = {}
    for invoice in invoices:
        for doc_key in MARKER.findall(str(invoice.get("remark") or "")):
            found.setdefault(doc_key, []).append(str(invoice["id"]))
    return found


def transaction_markers(transactions: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for txn in transactions:
        found.setdefault(f"txn:{txn.get('externalReference')}", []).append(str(txn.get("financialTransactionId")))
    return found


def contact_name(contact: Mapping[str, Any]) -> str:
    if contact.get("company"):
        return str(contact["company"].get("name"))
    person = contact.get("person") or {}
    return f"{person.get('firstName') or ''} {person.get('lastName') or ''}".strip()


def audit(world: World, tenant_id: str, stream: str, *, case: str, valid: Iterable[str],
          invalid: Mapping[str, str] | None = None, whole_tenant: bool = True) -> Outcome:
    """Compare outbox and sandbox for the source ids named; ``invalid`` maps source id -> expected reason code.

    With ``whole_tenant`` the ids named are all the tenant has, so anything else in Lexware is a problem.
    """
    invalid = dict(invalid or {})
    prefix = "draft:" if stream == "invoices" else "txn:"
    valid_keys = {prefix + v for v in valid}
    refused_keys = {prefix + k for k in invalid}
    outcome = Outcome(case, documents=len(valid_keys | refused_keys))
    rows = {r.doc_key: r for r in world.outbox(tenant_id, stream)}
    if stream == "invoices":
        objects = world.lexware(tenant_id, "invoices")
        markers = invoice_markers(objects)
        _count_duplicate_contacts(world, tenant_id, outcome)
    else:
        objects = world.lexware(tenant_id, "transactions")
        markers = transaction_markers(objects)
        _count_duplicate_accounts(world, tenant_id, outcome)

    placeholders = 0
    for key in sorted(valid_keys):
        copies = markers.get(key, [])
        row = rows.get(key)
        outcome.duplicates += max(0, len(copies) - 1)
        if row is None or str(row.state) != "sent" or not copies:
            outcome.lost += 1
            outcome.problems.append(f"{key}: outbox {row.state if row else 'missing'}, {len(copies)} in Lexware")
            continue
        outcome.delivered += 1
        if row.lexware_id not in copies:
            if stream == "transactions" and row.lexware_id is None and row.last_error:
                placeholders += 1
            else:
                outcome.problems.append(f"{key}: outbox says {row.lexware_id}, Lexware has {copies}")
    if placeholders:
        outcome.notes.append(f"{placeholders} reconciled without their Lexware id")
    for key in sorted(refused_keys):
        row = rows.get(key)
        if row is None:
            outcome.lost += 1
            outcome.problems.append(f"{key}: not in the outbox")
            continue
        if markers.get(key):
            outcome.problems.append(f"{key}: refused document reached Lexware {len(markers[key])}x")
        if str(row.state) not in ("invalid", "rejected"):
            outcome.lost += int(str(row.state) in ("pending", "sending", "unknown"))
            outcome.problems.append(f"{key}: expected invalid/rejected, outbox says {row.state}")
        if not row.reasons:
            outcome.problems.append(f"{key}: {row.state} without reasons")
        codes = {str(reason.get("code")) for reason in row.reasons}
        outcome.reasons |= codes
        expected = invalid.get(key[len(prefix):])
        if expected and expected not in codes:
            outcome.problems.append(f"{key}: reasons {sorted(codes)} lack {expected}")
    strangers = set(markers) - valid_keys - refused_keys if whole_tenant else set()
    if strangers:
        outcome.problems.append(f"Lexware holds documents nobody staged: {sorted(strangers)}")
    return outcome


def _count_duplicate_contacts(world: World, tenant_id: str, outcome: Outcome) -> None:
    """One contact per source customer (by the marker the project writes into the note), and every invoice on
    the contact of its own customer (a look-alike customer's contact is a loss, not a delivery). A contact
    without a marker was adopted (an existing Lexware customer); tests that adopt check it themselves."""
    contacts = world.lexware(tenant_id, "contacts")
    by_customer = Counter(m for c in contacts for m in CUSTOMER_MARKER.findall(str(c.get("note") or "")))
    extra = sum(n - 1 for n in by_customer.values() if n > 1)
    if extra:
        outcome.duplicates += extra
        outcome.problems.append(f"duplicate contacts: {[k for k, n in by_customer.items() if n > 1]}")
    customer_of = {c["id"]: set(CUSTOMER_MARKER.findall(str(c.get("note") or ""))) for c in contacts}
    rows = {r.doc_key: r for r in world.outbox(tenant_id, "invoices")}
    for invoice in world.lexware(tenant_id, "invoices"):
        for doc_key in MARKER.findall(str(invoice.get("remark") or "")):
            row = rows.get(doc_key)
            want = (row.related or {}).get("customer_key") if row is not None else None
            got = customer_of.get((invoice.get("address") or {}).get("contactId"), set())
            if want and got and want not in got:
                outcome.problems.append(f"{doc_key}: invoice on the contact of {sorted(got) or 'nobody'}, "
                                        f"not of {want}")


def _count_duplicate_accounts(world: World, tenant_id: str, outcome: Outcome) -> None:
    sources = Counter(a.get("externalReference") for a in world.lexware(tenant_id, "financial-accounts"))
    extra = sum(n - 1 for n in sources.values() if n > 1)
    if extra:
        outcome.duplicates += extra
        outcome.problems.append(f"duplicate financial accounts: {[i for i, c in sources.items() if c > 1]}")


def fault_note(hits: list[dict[str, Any]]) -> str:
    """What the sandbox's request log says the faults did, e.g. ``after_commit 504x1``."""
    counts = Counter(f"{h['fault']} {h['status'] if h['status'] is not None else 'drop'}" for h in hits)
    return ", ".join(f"{k}x{n}" for k, n in sorted(counts.items())) or "no fault hit"
