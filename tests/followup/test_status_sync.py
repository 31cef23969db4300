"""The nightly status sync over real HTTP against the sandbox, on SQLite and PostgreSQL state databases.

Every expectation is about what the sandbox holds (the accountant's changes there) and what it was asked
(its own request log), not about what our tables say of themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pendulum
import pytest

from lexoffice.delivery import run as delivery_run
from lexoffice.delivery.result import TenantBlocked
from lexoffice.documents import Stream
from lexoffice.followup.status_sync import run_for_tenant
from lexoffice.state import lexware_status, outbox, tenants
from lexoffice.state.schema import outbox as outbox_table
from tests.sandbox.support import invoice_body
from tests.followup.conftest import TENANT, Office

pytestmark = pytest.mark.timeout(180)
ZERO = timedelta(0)


def sync(office: Office, grace: timedelta = ZERO):  # noqa: ANN201 - SyncResult
    return run_for_tenant(state_engine=office.engine, tenant=office.tenant, client_factory=office.client,
                          run_id="nightly", grace=grace, lease_wait=30)


def current(office: Office) -> dict[str, tuple[str, str | None]]:
    rows = lexware_status.statuses(office.engine, tenant_id=TENANT, stream="invoices")
    return {key: (row.status, row.voucher_number) for key, row in rows.items()}


def test_status_voucher_number_and_changes_are_recorded(office: Office, long_ago: Callable[[], datetime]) -> None:
    office.send("a", "b", "c", "d", "e", "f", sent_at=long_ago())
    first = sync(office)
    assert current(office) == {key: ("draft", None) for key in "abcdef"}
    assert first.by_status == {"draft": 6} and len(first.changes) == 6

    for key in "abcd":
        office.act(key, "finalize", **({"due_date": "2025-03-10"} if key == "a" else {}))
    office.act("b", "pay")
    office.act("c", "pay-off")
    office.act("d", "void")
    office.act("e", "delete")
    mark = office.request_mark()
    second = sync(office)
    assert current(office) == {"a": ("overdue", "RE0001"), "b": ("paid", "RE0002"), "c": ("paidoff", "RE0003"),
                               "d": ("voided", "RE0004"), "e": ("deleted", None), "f": ("draft", None)}
    asked = office.requests_since(mark)
    # profile (right organisation?), one voucher-list page of open and one of settled invoices for all six,
    # one look-up by id for the one neither list shows
    assert asked == [("GET", "/v1/profile"), ("GET", "/v1/voucherlist"), ("GET", "/v1/voucherlist"),
                     ("GET", f"/v1/invoices/{office.sent['e']}")]
    assert second.requests == 4 and second.deleted == 1
    assert {(c.doc_key, c.old_status, c.new_status) for c in second.changes} == {
        ("a", "draft", "overdue"), ("b", "draft", "paid"), ("c", "draft", "paidoff"), ("d", "draft", "voided"),
        ("e", "draft", "deleted")}
    history = lexware_status.history(office.engine, tenant_id=TENANT, stream="invoices", doc_key="b")
    assert [(h.old_status, h.new_status, h.voucher_number) for h in history] == [(None, "draft", None),
                                                                                  ("draft", "paid", "RE0002")]
    lexware_b = next(i for i in office.sandbox.admin("GET", f"/organizations/{office.org_id}/invoices")
                     if i["id"] == office.sent["b"])
    assert history[-1].changed_at == datetime.fromisoformat(lexware_b["updatedDate"])  # when Lexware changed it
    statuses = lexware_status.statuses(office.engine, tenant_id=TENANT, stream="invoices")
    assert statuses["a"].due_date.isoformat() == "2025-03-10"

    mark = office.request_mark()
    third = sync(office)
    assert third.open_before == 2 and third.changes == []  # a (overdue) and f (draft); final ones not asked
    assert office.requests_since(mark) == [("GET", "/v1/profile"), ("GET", "/v1/voucherlist"),
                                           ("GET", "/v1/voucherlist")]


def test_a_deleted_draft_is_never_sent_again_automatically(office: Office, long_ago: Callable[[], datetime]) -> None:
    office.send("a", "b", sent_at=long_ago())
    office.act("a", "delete")
    sync(office)
    assert current(office)["a"] == ("deleted", None)

    mark = office.request_mark()
    result = delivery_run.deliver_tenant(state_engine=office.engine, tenant=office.tenant, stream=Stream.INVOICES,
                                     client_factory=office.client, lease_wait=30)
    assert result.as_dict()["sent"] == 0
    assert not [r for r in office.requests_since(mark) if r[0] == "POST"]
    invoices = office.sandbox.admin("GET", f"/organizations/{office.org_id}/invoices")
    assert [i["id"] for i in invoices] == [office.sent["b"]]
    assert {r.doc_key: str(r.state) for r in outbox.rows(office.engine, tenant_id=TENANT, stream="invoices")} == {
        "a": "sent", "b": "sent"}


def test_a_just_sent_invoice_missing_from_the_list_is_not_called_deleted(office: Office) -> None:
    # Lexware may list a new draft only later: an id the list lacks is looked up only after the grace period.
    office.send("fresh", sent_at=pendulum.now("UTC"), lexware_id="7d5e3c1e-0000-4000-8000-000000000001")
    mark = office.request_mark()
    young = sync(office, grace=timedelta(hours=1))
    assert young.not_listed_yet == 1 and current(office) == {}
    assert ("GET", "/v1/invoices/7d5e3c1e-0000-4000-8000-000000000001") not in office.requests_since(mark)

    old = sync(office, grace=ZERO)
    assert old.deleted == 1 and current(office) == {"fresh": ("deleted", None)}


def test_a_connection_to_another_organisation_records_nothing(office: Office, long_ago: Callable[[], datetime]) -> None:
    office.send("a", sent_at=long_ago())
    other = office.sandbox.admin("POST", "/organizations", json={"company_name": "Fremde GmbH",
                                                                 "rate_limit_per_second": None})
    office.api_key = other["api_key"]  # every invoice of ours would look deleted from there
    with pytest.raises(TenantBlocked, match="points at organisation"):
        sync(office)
    assert current(office) == {}


def test_a_disconnected_tenant_is_skipped_without_a_request(office: Office, long_ago: Callable[[], datetime]) -> None:
    office.send("a", sent_at=long_ago())
    tenants.record_disconnect(office.engine, TENANT, at=pendulum.now("UTC"))
    mark = office.request_mark()
    result = sync(office)
    assert result.skipped and "getrennt" in result.skipped
    assert office.requests_since(mark) == [] and current(office) == {}


def test_statuses_follow_a_new_lexware_id(office: Office, long_ago: Callable[[], datetime]) -> None:
    office.send("a", sent_at=long_ago())
    sync(office)
    with office.client() as client:
        new_id = client.create_invoice(invoice_body())
    # A person's re-send after a deletion: the row points at a new Lexware id.
    with office.engine.begin() as conn:
        conn.execute(outbox_table.update().where(outbox_table.c.doc_key == "a").values(lexware_id=new_id["id"]))
    office.sent["a"] = new_id["id"]
    office.act("a", "finalize", due_date="2999-12-31")
    sync(office)
    row = lexware_status.statuses(office.engine, tenant_id=TENANT, stream="invoices")["a"]
    assert (row.lexware_id, row.status, row.voucher_number) == (new_id["id"], "open", "RE0001")
    history = lexware_status.history(office.engine, tenant_id=TENANT, stream="invoices", doc_key="a")
    assert [(h.old_status, h.new_status) for h in history] == [(None, "draft"), (None, "open")]


def test_it_waits_for_a_delivery_to_the_same_organisation(office: Office, long_ago: Callable[[], datetime]) -> None:
    from lexoffice.state.locks import OrganisationLease

    office.send("a", sent_at=long_ago())
    delivering = OrganisationLease(office.engine, org_key=office.org_id, holder="a delivery", ttl_seconds=60)
    assert delivering.acquire()
    mark = office.request_mark()
    with pytest.raises(TenantBlocked, match="nächsten Lauf"):
        run_for_tenant(state_engine=office.engine, tenant=office.tenant, client_factory=office.client,
                       grace=ZERO, lease_wait=0.5)
    assert office.requests_since(mark) == [("GET", "/v1/profile")] and current(office) == {}
    delivering.release()
    sync(office)
    assert current(office) == {"a": ("draft", None)}


def test_open_documents_are_read_and_recorded_a_page_at_a_time(office: Office, long_ago: Callable[[], datetime],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Five open invoices, pages of two: three keyset queries of at most two rows, statuses recorded per page
    (a page's paid invoice leaves the open set without shifting the next page), one look-up for the deleted one."""
    import sqlalchemy as sa

    from lexoffice.followup.status_sync import sync_statuses

    office.send("a", "b", "c", "d", "e", sent_at=long_ago())
    office.act("b", "finalize")
    office.act("b", "pay")
    office.act("d", "delete")
    reads: list[tuple[str, object]] = []
    recorded: list[int] = []

    @sa.event.listens_for(office.engine, "before_cursor_execute")
    def remember(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        if "FROM outbox LEFT OUTER JOIN lexware_status" in statement:
            reads.append((statement, parameters))

    real_record = lexware_status.record

    def record(*args, observations, **kwargs):  # noqa: ANN002, ANN003, ANN202
        observations = list(observations)
        recorded.append(len(observations))
        return real_record(*args, observations=observations, **kwargs)

    monkeypatch.setattr(lexware_status, "record", record)
    with office.client() as client:
        result = sync_statuses(office.engine, client, office.tenant, grace=ZERO, page_size=2)

    assert current(office) == {"a": ("draft", None), "b": ("paid", "RE0001"), "c": ("draft", None),
                               "d": ("deleted", None), "e": ("draft", None)}
    pages = [(s, p) for s, p in reads if "LIMIT" in s]
    assert len(pages) == 3 and len(reads) == 4  # three pages and the one count/since query, nothing unbounded
    assert all(2 in (p.values() if isinstance(p, dict) else p) for _, p in pages)
    assert recorded == [2, 1, 1, 1] and max(recorded) <= 2  # a+b, c (d not listed), e, then d looked up
    assert (result.open_before, result.observed, result.looked_up, result.deleted) == (5, 5, 1, 1)


def test_look_ups_are_capped_across_pages(office: Office, long_ago: Callable[[], datetime],
                                          caplog: pytest.LogCaptureFixture) -> None:
    from lexoffice.followup.status_sync import sync_statuses

    office.send("a", "b", "c", sent_at=long_ago())
    office.act("a", "delete")
    office.act("c", "delete")
    with office.client() as client:
        result = sync_statuses(office.engine, client, office.tenant, grace=ZERO, page_size=1, max_lookups=1)
    assert current(office) == {"a": ("deleted", None), "b": ("draft", None)}  # c: the next night
    assert result.looked_up == 1 and "2 sent invoices are missing" in caplog.text
