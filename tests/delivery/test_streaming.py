"""Delivery streams the backlog in keyset pages (issue 21): the rows held in memory are bounded by the page size
whatever the backlog, rows staged after the first page are still delivered by the same run, transactions keep
each account's push order, and a dry run counts everything it would send. Checked against what the sandbox
holds, on SQLite and PostgreSQL. (Before: every pending row was read before the first request, the late rows
waited for the next run, and a dry run's count was the 50-row preview.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from lexoffice.delivery.invoices import InvoiceDelivery
from lexoffice.delivery.result import PREVIEW_LIMIT
from lexoffice.delivery.transactions import TransactionDelivery
from lexoffice.documents import StagedDocument, content_hash
from lexoffice.state import make_engine, outbox, tenants
from lexoffice.state.db import init_db
from tests.client.sandbox_helpers import (
    account_body,
    api_key_client,
    contact_body,
    create_org,
    invoice_body,
    stored,
    transaction_body,
)

pytestmark = pytest.mark.timeout(300)

PAGE = 4
EVENT = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


@pytest.fixture
def state(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    init_db(engine)
    tenants.add_tenant(engine, tenant_id="acme", name="Acme GmbH", lexoffice_conn_id="lexoffice_acme")
    yield engine
    engine.dispose()


class ReadCounter:
    """Counts outbox rows materialised in Python (what the reader hands out) against rows already sent."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.built = 0
        self.done = 0
        self.most_held = 0
        original = outbox.OutboxRow.from_db.__func__  # type: ignore[attr-defined]

        def counting(cls: Any, row: Any) -> Any:
            self.built += 1
            return original(cls, row)

        monkeypatch.setattr(outbox.OutboxRow, "from_db", classmethod(counting))

    def sending(self, n: int = 1) -> None:
        self.most_held = max(self.most_held, self.built - self.done)
        self.done += n


def _invoice(n: int) -> StagedDocument:
    key = f"draft:{n:04d}"
    return StagedDocument(
        doc_key=key, content_hash=content_hash(key), payload=invoice_body(remark=f"Quelle: RE-{n:04d}"),
        reasons=(), source_ref=f"RE-{n:04d}", event_time=EVENT, group_key="cust:1", sort_key=key,
        related={"customer_key": "cust:1", "lookup": {"name": "Musterfirma GmbH"}, "contact": contact_body()},
    )


def _transaction(iban: str, n: int, sort_key: str) -> StagedDocument:
    key = f"txn:{iban[-4:]}-{n:03d}"
    payload = transaction_body("", key)
    payload.pop("financialAccountId")
    return StagedDocument(
        doc_key=key, content_hash=content_hash(key), payload=payload, reasons=(), source_ref=key,
        event_time=EVENT, group_key=iban, sort_key=sort_key,
        related={"iban": iban, "account": account_body(iban, f"acct-{iban[-4:]}")},
    )


def _stage(engine: sa.Engine, stream: str, docs: list[StagedDocument]) -> None:
    outbox.stage(engine, tenant_id="acme", stream=stream, docs=docs)


def test_invoice_backlog_is_read_in_pages_and_late_rows_are_delivered(state: sa.Engine, sandbox: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    org = create_org(sandbox)
    client = api_key_client(sandbox, org)
    _stage(state, "invoices", [_invoice(n) for n in range(25)])
    reads = ReadCounter(monkeypatch)
    post = client.create_invoice

    def create_invoice(body: dict[str, Any]) -> dict[str, Any]:
        reads.sending()
        if reads.done == 3:  # staged while the first page is being delivered
            _stage(state, "invoices", [_invoice(n) for n in range(25, 30)])
        return post(body)

    monkeypatch.setattr(client, "create_invoice", create_invoice)
    tenant = tenants.get_tenant(state, "acme")
    result = InvoiceDelivery(state, client, tenant, page_size=PAGE).run()

    remarks = sorted(inv["remark"] for inv in stored(sandbox, org, "invoices"))
    assert remarks == [f"Quelle: RE-{n:04d}" for n in range(30)], "each draft exactly once, late ones included"
    assert result.sent == 30 and result.pending_left == 0
    assert reads.most_held <= PAGE, f"{reads.most_held} rows held at once; the page is {PAGE}"


def test_transactions_stream_per_account_in_push_order(state: sa.Engine, sandbox: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    org = create_org(sandbox)
    client = api_key_client(sandbox, org)
    # staged in reverse push order, with sort keys whose byte order differs from a locale's order
    sort_keys = [f"2025-05-28T10:{m:02d}:00|{tag}" for m in range(10) for tag in ("B-1", "_x", "a-1")]
    accounts = ("DE02700100800030876808", "DE89370400440532013000")
    docs = [_transaction(iban, n, key) for iban in accounts for n, key in enumerate(sort_keys)]
    _stage(state, "transactions", list(reversed(docs)))
    reads = ReadCounter(monkeypatch)
    push = client.push_transactions

    def push_transactions(bodies: list[dict[str, Any]]) -> Any:
        reads.sending(len(bodies))
        return push(bodies)

    monkeypatch.setattr(client, "push_transactions", push_transactions)
    tenant = tenants.get_tenant(state, "acme")
    result = TransactionDelivery(state, client, tenant, page_size=PAGE).run()

    assert result.sent == len(docs) and result.pending_left == 0
    held = stored(sandbox, org, "transactions")
    refs = [t["externalReference"] for t in held]
    assert sorted(refs) == sorted(d.doc_key for d in docs), "each transaction exactly once"
    by_key = {d.doc_key: d for d in docs}
    for iban in accounts:
        pushed = [r for r in refs if by_key[r].group_key == iban]
        assert pushed == sorted(pushed, key=lambda r: (by_key[r].sort_key, r)), f"account {iban} out of order"
    # a batch of 25 spans pages of 4: at most one batch plus one page is held
    assert reads.most_held <= 25 + PAGE, reads.most_held


@pytest.mark.parametrize("stream", ["invoices", "transactions"])
def test_dry_run_counts_everything_and_lists_a_bounded_preview(state: sa.Engine, stream: str) -> None:
    many = PREVIEW_LIMIT + 23
    docs = ([_invoice(n) for n in range(many)] if stream == "invoices"
            else [_transaction("DE02700100800030876808", n, f"k{n:04d}") for n in range(many)])
    _stage(state, stream, docs)
    delivery = InvoiceDelivery if stream == "invoices" else TransactionDelivery
    result = delivery(state, None, tenants.get_tenant(state, "acme"), page_size=PAGE).run(dry_run=True)
    assert result.would_send_count == many
    assert len(result.would_send) == PREVIEW_LIMIT
    assert outbox.counts(state, tenant_id="acme", stream=stream)["pending"] == many, "a dry run sends nothing"


def test_a_spent_budget_stops_transactions_before_the_next_batch(state: sa.Engine, sandbox: Any) -> None:
    from lexoffice.delivery.budget import Budget

    org = create_org(sandbox)
    client = api_key_client(sandbox, org)
    docs = [_transaction(iban, n, f"k{n:03d}") for iban in ("DE02700100800030876808", "DE89370400440532013000")
            for n in range(30)]
    _stage(state, "transactions", docs)
    tenant = tenants.get_tenant(state, "acme")
    result = TransactionDelivery(state, client, tenant, budget=Budget(seconds=0)).run()
    assert result.budget_spent and result.sent == 0 and result.pending_left == len(docs)
    assert stored(sandbox, org, "transactions") == []
