"""The small source batches every fault case delivers: three valid documents and one invalid one per stream.

Few documents keep a case to seconds at the sandbox's 2 requests/s; one customer (one contact) and one own
account (one financial account) keep the POSTs that can go wrong countable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pendulum

from tests.support import sources as src
from tests.support.world import World

INVOICES_DAG = "lexoffice_invoice_drafts"
TRANSACTIONS_DAG = "lexoffice_transactions"
DAY = "2026-10-05"
OWN_IBAN = "DE02120300000000202051"


@dataclass(frozen=True)
class Batch:
    """What a case staged: the DAG that delivers it, and which source ids must end where."""

    stream: str
    dag_id: str
    logical_date: Any
    valid: tuple[str, ...]
    invalid: dict[str, str]

    def run_kwargs(self) -> dict[str, Any]:
        return {"logical_date": self.logical_date}


def nightly(day: str, *, minute: int = 0) -> pendulum.DateTime:
    """The logical date of the nightly run whose data interval covers ``day`` (Europe/Berlin)."""
    d = date.fromisoformat(day)
    return pendulum.datetime(d.year, d.month, d.day, 3, minute, tz="Europe/Berlin").add(days=1)


def invoice_batch(world: World, tenant_id: str, *, connect: bool = True, add_tenant: bool = True) -> Batch:
    """Three valid drafts of one customer and one with a title over 25 characters, created on DAY."""
    fs = world.engine(world.fieldservice_url)
    company = f"c-{tenant_id}"
    src.company(fs, company)
    src.customer(fs, f"k-{tenant_id}", company, name=f"Bäckerei {tenant_id} & Söhne GmbH")
    valid = tuple(f"{tenant_id}-d{i}" for i in (1, 2, 3))
    for draft_id in valid:
        src.draft(fs, draft_id, company, f"k-{tenant_id}", created=DAY)
    bad = f"{tenant_id}-long-title"
    src.draft(fs, bad, company, f"k-{tenant_id}", created=DAY, title="Rechnung für Schädlingsbekämpfung Oktober")
    if add_tenant:
        world.add_tenant(tenant_id, company_id=company, streams=("invoices",), connect=connect)
    return Batch("invoices", INVOICES_DAG, nightly(DAY), valid, {bad: "TITLE_TOO_LONG"})


def transaction_batch(world: World, tenant_id: str, *, add_tenant: bool = True) -> Batch:
    """Three completed transactions of one own account and one with amount 0, completed on DAY."""
    bank = world.engine(world.bank_url)
    company = f"b-{tenant_id}"
    src.bank_customer(bank, company)
    src.account(bank, f"a-{tenant_id}", company, OWN_IBAN)
    valid = tuple(f"{tenant_id}-t{i}" for i in (1, 2, 3))
    for i, txn_id in enumerate(valid, start=1):
        src.transaction(bank, txn_id, f"a-{tenant_id}", amount=-10.0 * i, completed=DAY)
    zero = f"{tenant_id}-zero"
    src.transaction(bank, zero, f"a-{tenant_id}", amount=0, completed=DAY)
    if add_tenant:
        world.add_tenant(tenant_id, company_id=company, streams=("transactions",))
    return Batch("transactions", TRANSACTIONS_DAG, nightly(DAY, minute=30), valid, {zero: "TXN_AMOUNT_ZERO"})


def batch_for(world: World, tenant_id: str, stream: str) -> Batch:
    return invoice_batch(world, tenant_id) if stream == "invoices" else transaction_batch(world, tenant_id)
