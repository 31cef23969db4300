"""The tenants a cluster run delivers for: each with its own sandbox organisation (so its own 2 requests/s
budget), its own company in both source databases, and documents on two days.

``NIGHT`` documents are read by the first run; ``EARLIER`` ones only by windows that include that day (the
backfill, and a second run over both days). Each stream also has one document that must be refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.support import sources as src
from tests.support.world import World

NIGHT, EARLIER = "2026-10-05", "2026-10-04"
OWN_IBAN = "DE02120300000000202051"
INVALID_INVOICE_REASON = "TITLE_TOO_LONG"
INVALID_TRANSACTION_REASON = "TXN_AMOUNT_ZERO"


@dataclass(frozen=True)
class SeededTenant:
    tenant_id: str
    invoices: tuple[str, ...]        # valid draft ids (all days)
    transactions: tuple[str, ...]    # valid transaction ids (all days)
    invalid_invoice: str
    invalid_transaction: str


def seed_tenants(world: World, count: int, *, per_day: dict[str, int]) -> list[SeededTenant]:
    """``count`` tenants, each with ``per_day[day]`` valid drafts and transactions on each day, plus one
    invalid document per stream on NIGHT."""
    fs, bank = world.engine(world.fieldservice_url), world.engine(world.bank_url)
    seeded = []
    for n in range(1, count + 1):
        tenant = f"mandant{n}"
        # One company id in both source databases (each system has its own; the tenant names it for both).
        company, customer, account = f"c-{tenant}", f"k-{tenant}", f"a-{tenant}"
        src.company(fs, company, name=f"Mandant {n} Schädlingsbekämpfung GmbH")
        src.customer(fs, customer, company, name=f"Bäckerei {n} & Söhne GmbH")
        src.bank_customer(bank, company, name=f"Mandant {n} GmbH")
        src.account(bank, account, company, OWN_IBAN)
        invoices: list[str] = []
        transactions: list[str] = []
        for day, how_many in per_day.items():
            tag = day.replace("-", "")
            for i in range(1, how_many + 1):
                draft_id, txn_id = f"{tenant}-d{tag}-{i}", f"{tenant}-t{tag}-{i}"
                src.draft(fs, draft_id, company, customer, created=day)
                src.transaction(bank, txn_id, account, amount=-10.0 * i - n / 100, booked=day, completed=day)
                invoices.append(draft_id)
                transactions.append(txn_id)
        bad_draft, bad_txn = f"{tenant}-long-title", f"{tenant}-zero"
        src.draft(fs, bad_draft, company, customer, created=NIGHT, title="Rechnung für Schädlingsbekämpfung Oktober")
        src.transaction(bank, bad_txn, account, amount=0, completed=NIGHT)
        world.add_tenant(tenant, company_id=company, name=f"Mandant {n} GmbH")
        seeded.append(SeededTenant(tenant, tuple(invoices), tuple(transactions), bad_draft, bad_txn))
    return seeded


def tenant_connections(world: World) -> dict[str, str]:
    """The tenants' Airflow connections (AIRFLOW_CONN_LEXOFFICE_<TENANT>) for the cluster's processes."""
    return {f"AIRFLOW_CONN_LEXOFFICE_{t.upper()}": json.dumps(
        {"conn_type": "lexoffice", "host": world.sandbox.base_url, "password": info.api_key,
         # The world's short grace period (not the production 15 minutes): an unknown outcome that Lexware never
         # committed may be sent again by the second phase once its attempt is older than this.
         "extra": {"confirm_grace_seconds": world.confirm_grace_seconds}})
        for t, info in world.tenants.items()}
