"""Every allowed and every forbidden transition of the outbox state machine, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from lexoffice.state import outbox
from lexoffice.state.outbox import ALLOWED, CHANGES, DocState, TransitionError
from tests.state.helpers import doc, force_state, row_id

STREAM = "invoices"

# How each change is invoked; claim answers False instead of raising.
INVOKE: dict[str, Callable[[sa.Engine, int], object]] = {
    "claim": lambda e, rid: outbox.claim(e, rid, run_id="run-2"),
    "mark_sent": lambda e, rid: outbox.mark_sent(e, rid, lexware_id="lx-1"),
    "mark_rejected": lambda e, rid: outbox.mark_rejected(
        e, rid, reasons=[{"code": "lexware.NOTNULL", "field": "lineItems[0].name"}], error="406 Not Acceptable"
    ),
    "mark_unknown": lambda e, rid: outbox.mark_unknown(e, rid, error="read timeout after sending"),
    "release_to_pending": lambda e, rid: outbox.release_to_pending(e, rid, note="429: never executed"),
    "settle_not_created": lambda e, rid: outbox.settle_not_created(e, rid, grace_seconds=0, note="not in Lexware"),
    "stop_before_sending": lambda e, rid: outbox.stop_before_sending(
        e, rid, reasons=[{"code": "BEFORE_EXPORT_SINCE", "field": "voucherDate"}]),
}


def _one_row(engine: sa.Engine, tenant: str) -> int:
    outbox.stage(engine, tenant_id=tenant, stream=STREAM, docs=[doc("draft:1")], run_id="run-1")
    return row_id(engine, tenant, STREAM, "draft:1")


# The delivery protocol (docs/architecture.md), written out here rather than read from the code under test.
EXPECTED: dict[str, tuple[set[str], str]] = {
    "claim": ({"pending"}, "sending"),
    "mark_sent": ({"sending", "unknown"}, "sent"),
    "mark_rejected": ({"sending"}, "rejected"),
    "mark_unknown": ({"sending"}, "unknown"),
    "release_to_pending": ({"sending"}, "pending"),  # provably never executed
    "settle_not_created": ({"unknown"}, "pending"),  # reconciled, and only after the grace period
    "stop_before_sending": ({"pending"}, "invalid"),  # a rule checked at delivery forbids sending it
    # a person's choice: rejected, or sent and deleted in Lexware (tested on its own below)
    "resend": ({"sent", "rejected"}, "pending"),
}


@pytest.mark.parametrize("name", list(INVOKE))
def test_each_change_from_every_state(engine: sa.Engine, tenant: str, name: str) -> None:
    sources, target = EXPECTED[name]
    rid = _one_row(engine, tenant)
    for source in DocState:
        force_state(engine, rid, source.value)
        before = outbox.get_row(engine, rid)
        allowed = source.value in sources
        if name == "claim":
            assert INVOKE["claim"](engine, rid) is allowed, f"claim from {source}"
        elif allowed:
            INVOKE[name](engine, rid)
        else:
            with pytest.raises(TransitionError) as caught:
                INVOKE[name](engine, rid)
            message = str(caught.value)
            assert "draft:1" in message and f"'{source.value}'" in message and f"'{target}'" in message
        after = outbox.get_row(engine, rid)
        if allowed:
            assert after.state == target, f"{name} from {source}"
            assert after.updated_at >= before.updated_at
        else:
            assert after == before, f"{name} from {source} must change nothing"


def test_changes_record_what_happened(engine: sa.Engine, tenant: str) -> None:
    rid = _one_row(engine, tenant)
    assert outbox.claim(engine, rid, run_id="run-7")
    claimed = outbox.get_row(engine, rid)
    assert (claimed.attempts, claimed.run_id) == (1, "run-7")
    assert claimed.sending_started_at is not None and claimed.sending_started_at.tzinfo is not None

    outbox.mark_unknown(engine, rid, error="connection reset after sending")
    assert outbox.get_row(engine, rid).last_error == "connection reset after sending"
    assert outbox.settle_not_created(engine, rid, grace_seconds=0, note="reconciled: not found")
    assert outbox.claim(engine, rid)
    assert outbox.get_row(engine, rid).attempts == 2
    outbox.mark_sent(engine, rid, lexware_id="66196c43-baf3-4335-bfee-d610367059db")
    sent = outbox.get_row(engine, rid)
    assert sent.state == DocState.SENT
    assert sent.lexware_id == "66196c43-baf3-4335-bfee-d610367059db"
    assert sent.sent_at is not None and sent.sent_at >= claimed.sending_started_at


def test_rejection_keeps_field_level_reasons(engine: sa.Engine, tenant: str) -> None:
    rid = _one_row(engine, tenant)
    assert outbox.claim(engine, rid)
    reasons = [{"code": "lexware.NOTNULL", "field": "lineItems[0].unitPrice.taxRatePercentage",
                "message": "darf nicht leer sein"}]
    outbox.mark_rejected(engine, rid, reasons=reasons, error="406: 1 field rejected")
    row = outbox.get_row(engine, rid)
    assert (row.state, row.reasons, row.last_error) == (DocState.REJECTED, reasons, "406: 1 field rejected")


def test_orphaned_sending_rows_become_unknown_and_nothing_else_moves(engine: sa.Engine, tenant: str) -> None:
    outbox.stage(engine, tenant_id=tenant, stream=STREAM, docs=[doc(f"draft:{s}") for s in DocState])
    outbox.stage(engine, tenant_id=tenant, stream="transactions", docs=[doc("txn:1")])
    ids = {s: row_id(engine, tenant, STREAM, f"draft:{s}") for s in DocState}
    for state, rid in ids.items():
        force_state(engine, rid, state.value)
    other_stream = row_id(engine, tenant, "transactions", "txn:1")
    force_state(engine, other_stream, "sending")

    assert outbox.orphaned_sending_to_unknown(engine, tenant_id=tenant, stream=STREAM) == 1

    states = {s: outbox.get_row(engine, rid).state for s, rid in ids.items()}
    assert states == {s: (DocState.UNKNOWN if s == DocState.SENDING else s) for s in DocState}
    assert "reconcile" in (outbox.get_row(engine, ids[DocState.SENDING]).last_error or "")
    assert outbox.get_row(engine, other_stream).state == DocState.SENDING
    assert outbox.orphaned_sending_to_unknown(engine, tenant_id=tenant, stream=None) == 1


def test_stage_transitions_from_every_state(engine: sa.Engine, tenant: str) -> None:
    """A changed document: re-stageable states take the new version, the others are only flagged."""
    for valid in (True, False):
        for source in DocState:
            key = f"draft:{source}:{valid}"
            outbox.stage(engine, tenant_id=tenant, stream=STREAM, docs=[doc(key)])
            rid = row_id(engine, tenant, STREAM, key)
            force_state(engine, rid, source.value)
            outbox.stage(engine, tenant_id=tenant, stream=STREAM, docs=[doc(key, version=2, valid=valid)])
            row = outbox.get_row(engine, rid)
            if source in outbox.RESTAGEABLE:
                assert row.state == (DocState.PENDING if valid else DocState.INVALID), key
                assert not row.changed_after_send
            else:
                assert row.state == source, key
                assert row.changed_after_send and row.changed_hash == doc(key, version=2, valid=valid).content_hash


def test_allowed_table_is_the_protocol_and_exactly_what_the_api_can_do() -> None:
    protocol = {
        "invalid": {"pending"},
        "pending": {"sending", "invalid"},
        "sending": {"sent", "rejected", "unknown", "pending"},
        "sent": {"pending"},  # resend, of a draft deleted in Lexware only
        "rejected": {"pending", "invalid"},
        "unknown": {"sent", "pending"},
    }
    assert {s.value: {t.value for t in targets} for s, targets in ALLOWED.items()} == protocol
    performed = {(s.value, c.target.value) for c in CHANGES for s in c.sources}
    assert performed == {(s, t) for name, (sources, t) in EXPECTED.items() for s in sources}
    # stage re-validates re-stageable rows into pending or invalid; orphans go from sending to unknown
    performed |= {(s.value, t) for s in outbox.RESTAGEABLE for t in ("pending", "invalid") if s.value != t}
    performed.add(("sending", "unknown"))
    assert performed == {(s, t) for s, targets in protocol.items() for t in targets}
    assert {s.value for s in outbox.RESTAGEABLE} == {"invalid", "pending", "rejected"}
    assert {s.value for s in outbox.FROZEN} == {"sending", "sent", "unknown"}


def test_unknown_row_id(engine: sa.Engine, tenant: str) -> None:
    with pytest.raises(outbox.RowNotFound):
        outbox.claim(engine, 4242)
    with pytest.raises(outbox.RowNotFound):
        outbox.mark_sent(engine, 4242, lexware_id="x")


def test_an_unknown_row_is_not_settled_as_not_created_within_its_grace_period(engine: sa.Engine,
                                                                            tenant: str) -> None:
    """Lexware may commit after the failure was answered: "not found" soon after the attempt proves nothing."""
    from datetime import timedelta

    rid = _one_row(engine, tenant)
    assert outbox.claim(engine, rid)
    outbox.mark_unknown(engine, rid, error="504 after sending")
    attempt = outbox.get_row(engine, rid).sending_started_at
    assert attempt is not None
    assert outbox.settle_not_created(engine, rid, grace_seconds=60, note="not found") is False
    waiting = outbox.get_row(engine, rid)
    assert (waiting.state, waiting.sending_started_at) == (DocState.UNKNOWN, attempt)  # keeps its attempt time
    assert outbox.settle_not_created(engine, rid, grace_seconds=60, note="not found",
                                     now=attempt + timedelta(seconds=59)) is False
    assert outbox.settle_not_created(engine, rid, grace_seconds=60, note="not found",
                                     now=attempt + timedelta(seconds=61)) is True
    assert outbox.get_row(engine, rid).state == DocState.PENDING


# (state, what the status sync saw in Lexware for the row's id) -> resend moves it back to pending?
RESEND_CASES = [
    *[(state.value, None, state == DocState.REJECTED) for state in DocState],
    ("sent", "deleted", True),  # the accountant deleted the draft in Lexware Office
    ("sent", "open", False),  # finalized in Lexware: sending again would duplicate it
    ("sent", "deleted-other-id", False),  # an earlier id was deleted, the current one exists
    ("unknown", "deleted", False),  # maybe in Lexware: only a reconcile decides
]


@pytest.mark.parametrize(("state", "in_lexware", "accepted"), RESEND_CASES)
def test_resend_accepts_rejected_and_deleted_drafts_only_and_records_it(
        engine: sa.Engine, tenant: str, state: str, in_lexware: str | None, accepted: bool) -> None:
    """One transition for a person's "send it again" (issue 17's rejected, issue 20's deleted)."""
    from lexoffice.state import history, lexware_status

    rid = _one_row(engine, tenant)
    if state in ("sent", "unknown"):
        assert outbox.claim(engine, rid)
        outbox.mark_sent(engine, rid, lexware_id="lx-old")
        with engine.begin() as conn:  # a source change flagged after the send
            conn.execute(sa.update(outbox.outbox).where(outbox.outbox.c.id == rid)
                         .values(changed_after_send=True, changed_hash="h2"))
    force_state(engine, rid, state)
    if in_lexware:
        seen_id = "lx-earlier" if in_lexware == "deleted-other-id" else "lx-old"
        lexware_status.record(engine, tenant_id=tenant, stream=STREAM, observations=[lexware_status.Observation(
            "draft:1", seen_id, in_lexware.split("-")[0])])
    before = outbox.get_row(engine, rid)

    result = outbox.resend(engine, tenant_id=tenant, stream=STREAM, doc_keys=["draft:1", "draft:nope"],
                           actor="Erika")

    assert "draft:nope" in result.refused and "kein Beleg" in result.refused["draft:nope"]
    after = outbox.get_row(engine, rid)
    events = history.events(engine, tenant_id=tenant, stream=STREAM, doc_key="draft:1")
    if not accepted:
        assert (result.moved, after, events) == ([], before, [])
        assert "erneut gesendet" in result.refused["draft:1"]
        return
    assert result.moved == ["draft:1"] and "draft:1" not in result.refused
    assert after.state == DocState.PENDING
    ((kind, from_state, to_state, actor),) = [(e.kind, e.from_state, e.to_state, e.actor) for e in events]
    assert (kind, from_state, to_state, actor) == ("resend", state, "pending", "Erika")
    if state == "sent":  # the deleted id, its send times and the flagged change are gone: staged afresh
        assert (after.lexware_id, after.sent_at, after.sending_started_at, after.changed_after_send,
                after.changed_hash) == (None, None, None, False, None)
        assert "lx-old" in (events[0].message + (after.last_error or ""))
    again = outbox.resend(engine, tenant_id=tenant, stream=STREAM, doc_keys=["draft:1"], actor="Max")
    assert again.moved == [] and "pending" in again.refused["draft:1"]  # a second click changes nothing
    assert len(history.events(engine, tenant_id=tenant, stream=STREAM, doc_key="draft:1")) == 1


def test_two_people_resending_at_once_move_a_deleted_draft_once(engine: sa.Engine, tenant: str) -> None:
    """Two clicks at the same moment (threads, each its own connection): one moves it, the other is told why not."""
    import threading

    from lexoffice.state import history, lexware_status

    rid = _one_row(engine, tenant)
    assert outbox.claim(engine, rid)
    outbox.mark_sent(engine, rid, lexware_id="lx-old")
    lexware_status.record(engine, tenant_id=tenant, stream=STREAM,
                          observations=[lexware_status.Observation("draft:1", "lx-old", "deleted")])
    start = threading.Barrier(4)
    results: list[outbox.ResendResult] = []

    def click(actor: str) -> None:
        start.wait(timeout=60)
        results.append(outbox.resend(engine, tenant_id=tenant, stream=STREAM, doc_keys=["draft:1"], actor=actor))

    threads = [threading.Thread(target=click, args=(f"person-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(len(r.moved) for r in results) == [0, 0, 0, 1]
    assert len(history.events(engine, tenant_id=tenant, stream=STREAM, doc_key="draft:1")) == 1
    assert outbox.get_row(engine, rid).state == DocState.PENDING
