"""Unit tests of one piece: how a voucher becomes an observation, and that one odd voucher never stops the
others (a stand-in client; the HTTP path is covered in test_status_sync.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lexoffice.client.errors import NotFoundError
from lexoffice.followup.status_sync import UnknownStatus, observation, sync_statuses
from lexoffice.state import lexware_status, outbox, tenants
from lexoffice.state.db import init_db, make_engine
from lexoffice.state.lexware_status import SentDocument
from tests.state.helpers import doc

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
DOC = SentDocument("draft:1", "lx-1", NOW - timedelta(days=1), NOW - timedelta(days=1), None)


@pytest.mark.parametrize(("voucher", "expected"), [
    ({"voucherStatus": "draft"}, ("draft", None, None)),
    ({"voucherStatus": "open", "voucherNumber": "RE7", "dueDate": "2999-01-01T00:00:00.000+01:00"},
     ("open", "RE7", "2999-01-01")),
    ({"voucherStatus": "open", "voucherNumber": "RE7", "dueDate": "2026-12-01T00:00:00.000+01:00"},
     ("overdue", "RE7", "2026-12-01")),
    ({"voucherStatus": "sepadebit", "dueDate": "2026-12-01T00:00:00.000+01:00"}, ("overdue", None, "2026-12-01")),
    ({"voucherStatus": "overdue", "voucherNumber": "RE8"}, ("overdue", "RE8", None)),  # if Lexware says it
    ({"voucherStatus": "paid", "voucherNumber": "RE9", "updatedDate": "2026-12-05T10:00:00.000+01:00"},
     ("paid", "RE9", None)),
])
def test_voucher_to_observation(voucher: dict[str, Any], expected: tuple[Any, ...]) -> None:
    seen = observation(DOC, voucher, NOW)
    assert (seen.status, seen.voucher_number, seen.due_date and seen.due_date.isoformat()) == expected


def test_changed_at_is_when_lexware_changed_it_or_the_due_date() -> None:
    paid = observation(DOC, {"voucherStatus": "paid", "updatedDate": "2026-12-05T10:00:00.000+01:00"}, NOW)
    assert paid.changed_at == datetime(2026, 12, 5, 9, tzinfo=UTC)
    overdue = observation(DOC, {"voucherStatus": "open", "dueDate": "2026-12-01T00:00:00.000+01:00"}, NOW)
    assert overdue.changed_at == datetime(2026, 11, 30, 23, tzinfo=UTC)


@pytest.mark.parametrize("status", ["transferred", "deleted", ""])
def test_a_status_this_version_does_not_know_is_refused_by_name(status: str) -> None:
    with pytest.raises(UnknownStatus, match="lx-1"):
        observation(DOC, {"voucherStatus": status}, NOW)


class StandIn:
    """Answers the voucher list with given items and every look-up by id with 404."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items, self.looked_up = items, []

    def iter_voucherlist(self, **_: Any) -> list[dict[str, Any]]:
        return self.items

    def get_invoice(self, invoice_id: str) -> dict[str, Any]:
        self.looked_up.append(invoice_id)
        raise NotFoundError("Resource not found", status=404)


def test_one_odd_voucher_never_stops_the_others(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    init_db(engine)
    tenants.add_tenant(engine, tenant_id="t", name="T", lexoffice_conn_id="c")
    outbox.stage(engine, tenant_id="t", stream="invoices", docs=[doc(k) for k in ("a", "b", "c")])
    for row in outbox.rows(engine, tenant_id="t", stream="invoices"):
        outbox.claim(engine, row.id)
        outbox.mark_sent(engine, row.id, lexware_id=f"lx-{row.doc_key}", sent_at=NOW - timedelta(days=2))
    client = StandIn([{"id": "lx-a", "voucherStatus": "transferred"}, {"id": "lx-b", "voucherStatus": "paid"},
                      {"id": "lx-unrelated", "voucherStatus": "open"}])
    result = sync_statuses(engine, client, SimpleNamespace(tenant_id="t"), now=NOW)
    assert (result.unrecognised, result.deleted, client.looked_up) == (1, 1, ["lx-c"])
    recorded = lexware_status.statuses(engine, tenant_id="t", stream="invoices")
    assert {k: r.status for k, r in recorded.items()} == {"b": "paid", "c": "deleted"}
    engine.dispose()
