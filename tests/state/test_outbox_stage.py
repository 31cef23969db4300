"""Staging into the outbox: idempotent, re-validating what was never sent, flagging what was."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from lexoffice.state import outbox
from lexoffice.state.outbox import DocState, StageCounts
from lexoffice.state.tenants import TenantNotFound
from tests.state.helpers import REASON, doc, force_state, row_id

STREAM = "invoices"


def stage(engine: sa.Engine, tenant: str, *docs: object, **kwargs: object) -> StageCounts:
    return outbox.stage(engine, tenant_id=tenant, stream=STREAM, docs=docs, **kwargs)  # type: ignore[arg-type]


def the_row(engine: sa.Engine, tenant: str, key: str) -> outbox.OutboxRow:
    return outbox.get_row(engine, row_id(engine, tenant, STREAM, key))


def test_new_documents_are_stored_whole(engine: sa.Engine, tenant: str) -> None:
    berlin = timezone(timedelta(hours=1))
    valid = doc("draft:1", event_time=datetime(2025, 3, 14, 10, 30, tzinfo=berlin))
    invalid = doc("draft:2", valid=False, group=None)

    counts = stage(engine, tenant, valid, invalid, run_id="run-1")

    assert counts == StageCounts(new_pending=1, new_invalid=1)
    assert counts.total == 2 and counts.as_dict()["total"] == 2
    row = the_row(engine, tenant, "draft:1")
    assert row.state == DocState.PENDING
    assert row.payload == {"title": "Rechnung", "remark": "draft:1 v1", "name": "Müller & Söhne"}
    assert row.content_hash == valid.content_hash
    assert row.event_time == datetime(2025, 3, 14, 9, 30, tzinfo=timezone.utc)
    assert row.event_time.tzinfo is not None and row.event_time.utcoffset() == timedelta(0)
    assert (row.source_ref, row.group_key, row.sort_key, row.run_id) == (valid.source_ref, "cust:1", "draft:1", "run-1")
    assert row.related == valid.related and row.reasons == []
    assert (row.attempts, row.lexware_id, row.sent_at, row.changed_after_send) == (0, None, None, False)
    bad = the_row(engine, tenant, "draft:2")
    assert (bad.state, bad.payload, bad.group_key) == (DocState.INVALID, None, None)
    assert bad.reasons == [REASON.as_dict()]


def test_staging_the_same_documents_twice_changes_nothing(engine: sa.Engine, tenant: str) -> None:
    docs = [doc(f"draft:{i}") for i in range(5)] + [doc("draft:bad", valid=False)]
    stage(engine, tenant, *docs, run_id="run-1")
    before = outbox.rows(engine, tenant_id=tenant, stream=STREAM)

    counts = stage(engine, tenant, *docs, run_id="run-2")

    assert counts == StageCounts(unchanged=6)
    assert outbox.rows(engine, tenant_id=tenant, stream=STREAM) == before  # updated_at and run_id included


def test_changed_document_never_sent_is_revalidated(engine: sa.Engine, tenant: str) -> None:
    stage(engine, tenant, doc("draft:1"), run_id="run-1")
    first = the_row(engine, tenant, "draft:1")

    counts = stage(engine, tenant, doc("draft:1", version=2), run_id="run-2")

    assert counts == StageCounts(revalidated=1)
    row = the_row(engine, tenant, "draft:1")
    assert row.id == first.id and row.state == DocState.PENDING
    assert row.payload is not None and row.payload["remark"] == "draft:1 v2"
    assert row.content_hash == doc("draft:1", version=2).content_hash
    assert row.run_id == "run-2" and row.updated_at > first.updated_at and row.staged_at == first.staged_at


def test_invalid_becomes_valid_and_valid_becomes_invalid(engine: sa.Engine, tenant: str) -> None:
    stage(engine, tenant, doc("draft:1", valid=False), doc("draft:2"))

    counts = stage(engine, tenant, doc("draft:1", version=2), doc("draft:2", version=2, valid=False))

    assert counts == StageCounts(revalidated=2)
    fixed, broken = the_row(engine, tenant, "draft:1"), the_row(engine, tenant, "draft:2")
    assert (fixed.state, fixed.reasons) == (DocState.PENDING, [])
    assert fixed.payload is not None
    assert (broken.state, broken.reasons, broken.payload) == (DocState.INVALID, [REASON.as_dict()], None)


def test_rejected_document_is_restaged_when_the_source_changes(engine: sa.Engine, tenant: str) -> None:
    stage(engine, tenant, doc("draft:1"))
    rid = row_id(engine, tenant, STREAM, "draft:1")
    assert outbox.claim(engine, rid)
    outbox.mark_rejected(engine, rid, reasons=[{"code": "lexware.406", "field": "x"}], error="406")

    assert stage(engine, tenant, doc("draft:1")) == StageCounts(unchanged=1)
    assert outbox.get_row(engine, rid).state == DocState.REJECTED  # same source: stays rejected

    assert stage(engine, tenant, doc("draft:1", version=2)) == StageCounts(revalidated=1)
    row = outbox.get_row(engine, rid)
    assert (row.state, row.reasons, row.last_error, row.attempts) == (DocState.PENDING, [], None, 1)


def test_changed_document_already_sent_is_flagged_never_resent(engine: sa.Engine, tenant: str) -> None:
    stage(engine, tenant, doc("draft:1"))
    rid = row_id(engine, tenant, STREAM, "draft:1")
    assert outbox.claim(engine, rid)
    outbox.mark_sent(engine, rid, lexware_id="lx-1")
    sent = outbox.get_row(engine, rid)

    counts = stage(engine, tenant, doc("draft:1", version=2), run_id="run-2")

    assert counts == StageCounts(changed_after_send=1)
    row = outbox.get_row(engine, rid)
    assert row.state == DocState.SENT and row.changed_after_send
    assert row.changed_hash == doc("draft:1", version=2).content_hash
    assert (row.payload, row.content_hash, row.lexware_id, row.sent_at) == (
        sent.payload, sent.content_hash, sent.lexware_id, sent.sent_at)
    assert not outbox.claim(engine, rid)
    assert [r.doc_key for r in outbox.rows(engine, tenant_id=tenant, stream=STREAM, changed_after_send=True)] == [
        "draft:1"]

    # The same change staged again writes nothing.
    assert stage(engine, tenant, doc("draft:1", version=2)) == StageCounts(unchanged=1)
    assert outbox.get_row(engine, rid) == row
    # A further change updates the flagged hash; going back to what was sent clears the flag.
    assert stage(engine, tenant, doc("draft:1", version=3)) == StageCounts(changed_after_send=1)
    assert outbox.get_row(engine, rid).changed_hash == doc("draft:1", version=3).content_hash
    assert stage(engine, tenant, doc("draft:1")) == StageCounts(change_reverted=1)
    reverted = outbox.get_row(engine, rid)
    assert (reverted.changed_after_send, reverted.changed_hash, reverted.state) == (False, None, DocState.SENT)


@pytest.mark.parametrize("frozen", [DocState.SENDING, DocState.UNKNOWN])
def test_change_while_uncertain_is_flagged_and_released_rows_take_it_later(
    engine: sa.Engine, tenant: str, frozen: DocState
) -> None:
    stage(engine, tenant, doc("draft:1"))
    rid = row_id(engine, tenant, STREAM, "draft:1")
    assert outbox.claim(engine, rid)
    if frozen == DocState.UNKNOWN:
        outbox.mark_unknown(engine, rid, error="timeout")

    assert stage(engine, tenant, doc("draft:1", version=2)) == StageCounts(changed_after_send=1)
    flagged = outbox.get_row(engine, rid)
    assert flagged.state == frozen and flagged.payload is not None and flagged.payload["remark"] == "draft:1 v1"

    if frozen == DocState.UNKNOWN:
        assert outbox.settle_not_created(engine, rid, grace_seconds=0, note="reconciled: not in Lexware")
    else:
        outbox.release_to_pending(engine, rid, note="429: never executed")
    released = outbox.get_row(engine, rid)
    assert (released.state, released.changed_after_send, released.changed_hash) == (DocState.PENDING, False, None)
    assert stage(engine, tenant, doc("draft:1", version=2)) == StageCounts(revalidated=1)
    assert outbox.get_row(engine, rid).payload["remark"] == "draft:1 v2"  # type: ignore[index]


def test_batches_and_duplicates(engine: sa.Engine, tenant: str) -> None:
    docs = [doc(f"draft:{i:02d}") for i in range(11)]
    assert stage(engine, tenant, *docs, batch_size=3) == StageCounts(new_pending=11)
    # A key twice in one call: the last occurrence wins (same batch and across batches).
    counts = stage(engine, tenant, doc("draft:00", version=2), doc("draft:00", version=3), batch_size=5)
    assert counts == StageCounts(revalidated=1)
    assert the_row(engine, tenant, "draft:00").content_hash == doc("draft:00", version=3).content_hash
    counts = stage(engine, tenant, doc("draft:01", version=2), doc("draft:01", version=3), batch_size=1)
    assert counts == StageCounts(revalidated=2)
    assert the_row(engine, tenant, "draft:01").content_hash == doc("draft:01", version=3).content_hash


def test_after_a_batch_of_new_documents_the_next_is_inserted_without_a_lookup(
    engine: sa.Engine, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first stage skips the key lookup; a batch that meets existing rows still gets the full plan."""
    stage(engine, tenant, doc("old:0"), doc("old:1"))
    force_state(engine, row_id(engine, tenant, STREAM, "old:1"), "sent")
    looked_up: list[list[str]] = []
    real_existing = outbox._existing

    def spy(conn: sa.Connection, tenant_id: str, stream: str, keys: list[str]) -> dict[str, sa.Row]:
        looked_up.append(list(keys))
        return real_existing(conn, tenant_id, stream, keys)

    monkeypatch.setattr(outbox, "_existing", spy)
    batches = [
        [doc("new:0"), doc("new:1"), doc("new:2", valid=False)],  # looked up: the first batch always is
        [doc("new:3"), doc("new:4"), doc("new:5")],  # inserted straight away
        [doc("new:6"), doc("old:0", version=2), doc("old:1", version=2)],  # tried, refused by the unique key, planned
        [doc("new:7"), doc("new:8"), doc("new:9")],  # after a mixed batch: looked up again
    ]

    counts = stage(engine, tenant, *[d for batch in batches for d in batch], batch_size=3)

    assert counts == StageCounts(new_pending=9, new_invalid=1, revalidated=1, changed_after_send=1)
    assert [keys[0] for keys in looked_up] == ["new:0", "new:6", "new:7"]
    rows = outbox.rows(engine, tenant_id=tenant, stream=STREAM)
    assert sorted(r.doc_key for r in rows) == sorted({f"new:{i}" for i in range(10)} | {"old:0", "old:1"})
    assert the_row(engine, tenant, "old:0").payload["remark"] == "old:0 v2"  # type: ignore[index]
    sent = the_row(engine, tenant, "old:1")
    assert sent.state == DocState.SENT and sent.changed_after_send
    assert the_row(engine, tenant, "new:2").state == DocState.INVALID


def test_streams_and_tenants_are_separate(engine: sa.Engine, tenant: str) -> None:
    from lexoffice.state.tenants import add_tenant

    add_tenant(engine, tenant_id="other", name="Other", lexoffice_conn_id="lex_other")
    outbox.stage(engine, tenant_id=tenant, stream="invoices", docs=[doc("k:1")])
    outbox.stage(engine, tenant_id=tenant, stream="transactions", docs=[doc("k:1", version=2)])
    outbox.stage(engine, tenant_id="other", stream="invoices", docs=[doc("k:1", version=3)])
    hashes = {
        (t, s): [r.content_hash for r in outbox.rows(engine, tenant_id=t, stream=s)]
        for t, s in [(tenant, "invoices"), (tenant, "transactions"), ("other", "invoices")]
    }
    assert hashes == {
        (tenant, "invoices"): [doc("k:1").content_hash],
        (tenant, "transactions"): [doc("k:1", version=2).content_hash],
        ("other", "invoices"): [doc("k:1", version=3).content_hash],
    }


def test_refuses_what_it_cannot_store_correctly(engine: sa.Engine, tenant: str) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        stage(engine, tenant, doc("draft:1", event_time=datetime(2025, 1, 1, 12, 0)))
    with pytest.raises(ValueError, match="needs a payload"):
        stage(engine, tenant, replace(doc("draft:1"), payload=None))
    with pytest.raises(TypeError, match="draft:1: reasons must be a tuple of Reason, got list"):
        stage(engine, tenant, replace(doc("draft:1", valid=False), reasons=[REASON]))
    with pytest.raises(TenantNotFound, match="'nobody' does not exist"):
        outbox.stage(engine, tenant_id="nobody", stream=STREAM, docs=[doc("draft:1")])
    assert outbox.rows(engine, tenant_id=tenant, stream=STREAM) == []


def test_rows_filters_and_delivery_order(engine: sa.Engine, tenant: str) -> None:
    docs = [
        doc("t:3", group="DE02", sort="2025-03-01T10:00|3"),
        doc("t:1", group="DE01", sort="2025-03-02T10:00|1"),
        doc("t:2", group="DE01", sort="2025-03-01T10:00|2"),
        doc("t:4", group=None, sort="2025-03-05T10:00|4"),
        doc("t:5", group="DE01", sort="2025-03-03T10:00|5", valid=False),
    ]
    stage(engine, tenant, *docs)
    ordered = [r.doc_key for r in outbox.rows(engine, tenant_id=tenant, stream=STREAM, order_by_sort_key=True)]
    assert ordered == ["t:4", "t:2", "t:1", "t:5", "t:3"]
    by_id = [r.doc_key for r in outbox.rows(engine, tenant_id=tenant, stream=STREAM)]
    assert by_id == ["t:3", "t:1", "t:2", "t:4", "t:5"]
    pending = outbox.rows(engine, tenant_id=tenant, stream=STREAM, states=[DocState.PENDING], order_by_sort_key=True)
    assert [r.doc_key for r in pending] == ["t:4", "t:2", "t:1", "t:3"]
    selected = outbox.rows(engine, tenant_id=tenant, stream=STREAM, doc_keys=["t:5", "t:1", "missing"])
    assert [r.doc_key for r in selected] == ["t:1", "t:5"]

    assert outbox.rows(engine, tenant_id=tenant, stream=STREAM, states=[]) == []

    # iter_rows pages through one state at a time, each by id like rows().
    for chunk in (1, 2, 100):
        for states in (None, ["pending"], ["invalid", "pending"]):
            streamed = list(outbox.iter_rows(engine, tenant_id=tenant, stream=STREAM, states=states,
                                             chunk_size=chunk))
            expected = [row for state in (states or list(DocState))
                        for row in outbox.rows(engine, tenant_id=tenant, stream=STREAM, states=[state])]
            assert streamed == expected, (chunk, states)
            assert len(streamed) == (5 if states != ["pending"] else 4)


def test_iter_rows_skips_rows_that_left_the_state_meanwhile(engine: sa.Engine, tenant: str) -> None:
    stage(engine, tenant, *[doc(f"d:{i}") for i in range(6)])
    seen = []
    for row in outbox.iter_rows(engine, tenant_id=tenant, stream=STREAM, states=["pending"], chunk_size=2):
        seen.append(row.doc_key)
        if row.doc_key == "d:1":
            assert outbox.claim(engine, row_id(engine, tenant, STREAM, "d:4"))  # another sender took d:4
    assert seen == ["d:0", "d:1", "d:2", "d:3", "d:5"]


def test_many_doc_keys(engine: sa.Engine, tenant: str) -> None:
    stage(engine, tenant, *[doc(f"d:{i}") for i in range(2500)], batch_size=1000)
    keys = [f"d:{i}" for i in range(0, 2500, 2)]
    assert len(outbox.rows(engine, tenant_id=tenant, stream=STREAM, doc_keys=keys)) == 1250
    assert stage(engine, tenant, *[doc(f"d:{i}") for i in range(2500)]) == StageCounts(unchanged=2500)


def test_counts_has_every_state(engine: sa.Engine, tenant: str) -> None:
    assert outbox.counts(engine, tenant_id=tenant, stream=STREAM) == {
        **{s.value: 0 for s in DocState}, "changed_after_send": 0}
    stage(engine, tenant, doc("a"), doc("b"), doc("c", valid=False))
    rid = row_id(engine, tenant, STREAM, "a")
    force_state(engine, rid, "sent")
    stage(engine, tenant, doc("a", version=2))
    counts = outbox.counts(engine, tenant_id=tenant, stream=STREAM)
    assert counts == {"invalid": 1, "pending": 1, "sending": 0, "sent": 1, "rejected": 0, "unknown": 0,
                      "changed_after_send": 1}
    assert counts.get(DocState.PENDING) == 1  # StrEnum keys work too


@pytest.mark.postgres
def test_first_stage_into_a_new_postgres_outbox_leaves_statistics(postgres_url: str) -> None:
    """Without statistics PostgreSQL reads each batch's keys by scanning the tenant's rows (quadratic)."""
    from lexoffice.state import make_engine
    from lexoffice.state.db import init_db
    from lexoffice.state.tenants import add_tenant

    engine = make_engine(postgres_url)
    try:
        init_db(engine)
        add_tenant(engine, tenant_id="t", name="T", lexoffice_conn_id="c")
        assert outbox._never_analyzed(engine)
        outbox.stage(engine, tenant_id="t", stream=STREAM, docs=[doc(f"d:{i}") for i in range(300)], batch_size=100)
        assert not outbox._never_analyzed(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT reltuples FROM pg_class WHERE relname = 'outbox'")).scalar() >= 100
    finally:
        engine.dispose()


AWKWARD = ["Tab\there", "Zeile 1\nZeile 2\r\nZeile 3\r", "Back\\slash \\N \\t", "Ünïcødé ✓ 😀", "", "\\"]


def test_text_and_json_survive_the_bulk_path_byte_for_byte(engine: sa.Engine, tenant: str) -> None:
    """PostgreSQL stages through COPY's text format, where tab, line breaks and backslash are syntax."""
    documents = []
    for i, text in enumerate(AWKWARD):
        base = doc(f"draft:{text}:{i}", group=text or None, sort=f"{text}|{i}")
        documents.append(replace(
            base, source_ref=text, payload={"remark": text, "nested": {"list": [text, None, 1.5, True]}},
            related={"lookup": {"name": text}}, reasons=() if i % 2 else (replace(REASON, message_de=text),),
        ))
        if i % 2 == 0:
            documents[-1] = replace(documents[-1], payload=None)

    counts = stage(engine, tenant, *documents, run_id="run\twith tab")

    assert counts.new_pending + counts.new_invalid == len(AWKWARD)
    for document in documents:
        row = the_row(engine, tenant, document.doc_key)
        assert (row.source_ref, row.group_key, row.sort_key) == (document.source_ref, document.group_key,
                                                                 document.sort_key)
        assert row.payload == document.payload and row.related == document.related
        assert row.reasons == [r.as_dict() for r in document.reasons]
        assert row.run_id == "run\twith tab"
        assert row.state == (DocState.PENDING if document.is_valid else DocState.INVALID)
