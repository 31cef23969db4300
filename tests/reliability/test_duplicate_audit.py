"""`lexoffice audit` finds what exists twice in Lexware, and the report then never calls it "sent" once.

The duplicates are made in the sandbox directly (as a late commit after the grace period, or a second writer,
would make them): a second draft carrying a sent draft's reference line, and a second transaction with a sent
transaction's externalReference on the same account.
"""

from __future__ import annotations

from typing import Any

import pytest

from lexoffice import cli
from lexoffice.client import RetryPolicy
from tests.client.sandbox_helpers import api_key_client
from tests.reliability.scenarios import invoice_batch, transaction_batch
from tests.reliability.world import ReliabilityWorld

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

COPY_DROPS = ("id", "organizationId", "createdDate", "updatedDate", "version", "voucherStatus", "voucherNumber",
              "dueDate", "taxAmounts", "archived", "electronicDocumentProfile", "files")


def _lexoffice(world: ReliabilityWorld, capsys: Any, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["--state-url", world.state_url, *args])
    return code, capsys.readouterr().out


def test_audit_lists_duplicates_and_the_report_shows_them(world: ReliabilityWorld, capsys: Any) -> None:
    invoices = invoice_batch(world, "aud")
    world.run_until_settled(invoices.dag_id, "aud", "invoices", logical_date=invoices.logical_date)
    code, out = _lexoffice(world, capsys, "audit", "--tenant", "aud", "--stream", "invoices")
    assert code == 0 and "0 present more than once" in out, out

    info = world.tenants["aud"]
    # Another integration of the organisation, right after the audit's requests: the organisation's bucket has
    # no burst, so it waits out a 429 with the client's ordinary backoff (0.5 s first), not the tests' fast one.
    client = api_key_client(world.sandbox, {"api_key": info.api_key}, retry=RetryPolicy())
    original = world.lexware("aud", "invoices")[0]
    body = {k: v for k, v in original.items() if k not in COPY_DROPS}
    body["address"] = {"contactId": original["address"]["contactId"]}
    body["totalPrice"] = {"currency": "EUR"}
    for item in body["lineItems"]:
        item.pop("lineItemAmount", None)
        item.get("unitPrice", {}).pop("grossAmount" if "netAmount" in item.get("unitPrice", {}) else "netAmount",
                                      None)
    copy = client.create_invoice(body)

    code, out = _lexoffice(world, capsys, "audit", "--tenant", "aud", "--stream", "invoices")
    assert code == 1, out
    assert original["id"] in out and copy["id"] in out and "2x in Lexware" in out, out
    assert "Delete the extra draft" in out, out

    code, out = _lexoffice(world, capsys, "report", "--tenant", "aud", "--stream", "invoices")
    doc_line = next(line for line in out.splitlines() if original["id"] in line)
    assert "2x in Lexware" in doc_line, out
    assert "1 of them more than once in Lexware" in out, out


def test_audit_finds_a_transaction_reference_present_twice(world: ReliabilityWorld, capsys: Any) -> None:
    batch = transaction_batch(world, "audt")
    world.run_until_settled(batch.dag_id, "audt", "transactions", logical_date=batch.logical_date)
    info = world.tenants["audt"]
    client = api_key_client(world.sandbox, {"api_key": info.api_key}, retry=RetryPolicy())  # no burst
    last = world.lexware("audt", "transactions")[-1]
    copy = {k: last[k] for k in ("valueDate", "bookingDate", "amount", "purpose", "financialAccountId",
                                 "externalReference", "recipientOrSenderName", "recipientOrSenderIban",
                                 "recipientOrSenderBic") if last.get(k) is not None}
    copy["transactiondate"] = last["transactionDate"]
    for key in ("valueDate", "bookingDate", "transactiondate"):
        copy[key] = copy[key].replace(".000", "")
    client.push_transactions([copy])

    code, out = _lexoffice(world, capsys, "audit", "--tenant", "audt", "--stream", "transactions")
    assert code == 1, out
    assert last["financialTransactionId"] in out and "2x in Lexware" in out, out
