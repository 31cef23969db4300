"""Another writer on the account (a CSV import, a second integration) makes ``latest-transaction`` ambiguous:
the unknown batch stays unknown, the operator is told, and nothing is sent again blindly.

Measured before: the latest transaction was not ours, so the batch counted as "not landed" and was pushed a
second time. Checked against the transactions the sandbox holds.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from lexoffice.client import RetryPolicy
from tests.client.sandbox_helpers import api_key_client
from tests.reliability.scenarios import transaction_batch
from tests.reliability.world import ReliabilityWorld

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def test_another_writer_keeps_the_batch_unknown_and_never_resends(world: ReliabilityWorld) -> None:
    world.confirm_grace_seconds = 5.0
    batch = transaction_batch(world, "aw")
    world.inject(mode="late_after_error", status=504, method="POST", path="/v1/finance/transactions", count=1,
                 delay_seconds=1.0)
    world.run_dag(batch.dag_id, logical_date=batch.logical_date)  # 504; Lexware commits the batch a second later
    deadline = time.monotonic() + 60
    while len(world.lexware("aw", "transactions")) < len(batch.valid):
        assert time.monotonic() < deadline, "the late commit never happened"
        time.sleep(0.2)

    # Then a CSV import writes to the same account: it is now the account's latest transaction.
    ours = world.lexware("aw", "transactions")
    client = api_key_client(world.sandbox, {"api_key": world.tenants["aw"].api_key}, retry=RetryPolicy())  # no burst: ordinary backoff
    client.push_transactions([{
        "valueDate": "2026-10-06T00:00:00+02:00", "bookingDate": "2026-10-06T00:00:00+02:00",
        "transactiondate": "2026-10-06T00:00:00+02:00", "amount": -5.0, "purpose": "CSV-Import",
        "recipientOrSenderName": "Stadtwerke", "financialAccountId": ours[0]["financialAccountId"],
        "externalReference": "csv-import-1"}])

    world.run_until_settled(batch.dag_id, "aw", "transactions", max_runs=2, logical_date=batch.logical_date)

    references = Counter(t["externalReference"] for t in world.lexware("aw", "transactions"))
    assert all(references[ref] == 1 for ref in batch.valid), references  # never sent twice
    rows = {r.doc_key: r for r in world.outbox("aw", "transactions")}
    for ref in batch.valid:
        row = rows[f"txn:{ref}"]
        assert str(row.state) == "unknown", (ref, row.state)
        assert "another writer" in (row.last_error or ""), row.last_error

    from lexoffice.report import document_rows

    reasons = [r["reason"] for r in document_rows(world.state, tenant_ids=["aw"], streams=["transactions"],
                                                  states=["unknown"])]
    assert reasons and all("another writer" in r and "lexoffice audit" in r for r in reasons), reasons
