"""A contact or financial account whose create had an unknown outcome is looked up, then created once."""

from __future__ import annotations

import pytest

from tests.e2e.test_invoice_drafts_dag import nightly
from tests.e2e.test_transactions_dag import OWN_IBAN
from tests.e2e.test_transactions_dag import nightly as txn_nightly
from tests.support import sources as src
from tests.support.world import World

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.mark.parametrize("mode", ["before", "after_commit"])
def test_unknown_contact_create_is_reconciled_then_sent_once(world: World, mode: str) -> None:
    fs = world.engine(world.fieldservice_url)
    src.company(fs, "c1")
    src.customer(fs, "k1", "c1")
    src.draft(fs, "d1", "c1", "k1")
    world.add_tenant("nord", company_id="c1")
    # 500 on the contact POST: not executed ("before") or executed ("after_commit"); the client can't tell.
    world.sandbox.admin("POST", "/faults", json={"count": 1, "status": 500, "mode": mode, "method": "POST",
                                                 "path": "/v1/contacts"})
    world.run_dag("lexoffice_invoice_drafts", logical_date=nightly("2026-10-05"))
    assert world.lexware("nord", "invoices") == []
    world.run_dag("lexoffice_invoice_drafts", logical_date=nightly("2026-10-05"))
    assert len(world.lexware("nord", "contacts")) == 1
    assert len(world.lexware("nord", "invoices")) == 1
    assert set(world.states("nord", "invoices").values()) == {"sent"}


@pytest.mark.parametrize("mode", ["before", "after_commit"])
def test_unknown_financial_account_create_is_reconciled_then_created_once(world: World, mode: str) -> None:
    bank = world.engine(world.bank_url)
    src.bank_customer(bank, "b1")
    src.account(bank, "a1", "b1", OWN_IBAN)
    src.transaction(bank, "t1", "a1")
    world.add_tenant("nord", company_id="b1", streams=("transactions",))
    world.sandbox.admin("POST", "/faults", json={"count": 1, "status": 500, "mode": mode, "method": "POST",
                                                 "path": "/v1/finance/financial-accounts"})
    world.run_dag("lexoffice_transactions", logical_date=txn_nightly("2026-10-05"))
    assert world.lexware("nord", "transactions") == []
    world.run_dag("lexoffice_transactions", logical_date=txn_nightly("2026-10-05"))
    assert len(world.lexware("nord", "financial-accounts")) == 1
    assert [t["externalReference"] for t in world.lexware("nord", "transactions")] == ["t1"]
