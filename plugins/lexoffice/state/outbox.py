"""The outbox: THE document state machine, and idempotent staging into it.

Lexware Office has no idempotency key, so this table carries the exactly-once guarantee. Every state change
is a conditional UPDATE (``… WHERE id = :id AND state IN (:allowed sources)``) checked against ``ALLOWED``;
a change that lost a race changes nothing. ``pending -> sending`` is committed before the POST goes out,
so a crash can leave a row in ``sending`` but never lets it be sent twice: only a reconcile can move an
uncertain row back to ``pending``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import islice
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from lexoffice.documents import Reason, StagedDocument
from lexoffice.state.db import dialect_insert, is_postgres, read_transaction, utcnow, write_transaction
from lexoffice.state.schema import outbox, tenants
from lexoffice.state.tenants import TenantNotFound

log = logging.getLogger(__name__)


class DocState(StrEnum):
    INVALID = "invalid"
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


S = DocState
ALLOWED: dict[DocState, frozenset[DocState]] = {
    S.INVALID: frozenset({S.PENDING}),  # re-staged after a source change, now valid
    S.PENDING: frozenset({S.SENDING, S.INVALID}),  # claimed; or re-staged, now invalid
    S.SENDING: frozenset({S.SENT, S.REJECTED, S.UNKNOWN, S.PENDING}),  # PENDING: provably never executed
    # final for delivery: a later source change is flagged, never re-sent; only a person may send again a draft
    # the accountant deleted in Lexware Office (resend, ``lexoffice resend``)
    S.SENT: frozenset({S.PENDING}),
    S.REJECTED: frozenset({S.PENDING, S.INVALID}),  # re-staged after a source change
    S.UNKNOWN: frozenset({S.SENT, S.PENDING}),  # reconciled: found in Lexware, or provably not there
}
# States in which staging may replace the payload, and states in which it may only flag a change.
RESTAGEABLE: frozenset[DocState] = frozenset({S.INVALID, S.PENDING, S.REJECTED})
FROZEN: frozenset[DocState] = frozenset({S.SENDING, S.SENT, S.UNKNOWN})

DEFAULT_STAGE_BATCH = 2000
_MAX_STAGE_ATTEMPTS = 20
_IN_CHUNK = 1000  # keys per IN (…) list: well below SQLite's and PostgreSQL's parameter limits


class TransitionError(Exception):
    """An illegal state change: the row is not in a state this change may start from."""

    def __init__(self, row_id: int, doc_key: str, from_state: str, to_state: str) -> None:
        allowed = ", ".join(sorted(ALLOWED.get(DocState(from_state), ()))) or "nothing (final)"
        super().__init__(
            f"outbox row {row_id} ({doc_key}): cannot move from '{from_state}' to '{to_state}'; "
            f"from '{from_state}' the allowed next states are: {allowed}"
        )
        self.row_id, self.doc_key, self.from_state, self.to_state = row_id, doc_key, from_state, to_state


class RowNotFound(LookupError):
    """No outbox row with this id."""


class StageConflict(RuntimeError):
    """Staging kept losing races against concurrent writers (should not happen; retried many times)."""


@dataclass(frozen=True)
class OutboxRow:
    id: int
    tenant_id: str
    stream: str
    doc_key: str
    state: DocState
    content_hash: str
    payload: dict[str, Any] | None
    reasons: list[dict[str, Any]]
    source_ref: str
    event_time: datetime
    group_key: str | None
    sort_key: str
    related: dict[str, Any]
    lexware_id: str | None
    attempts: int
    sending_started_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    changed_after_send: bool
    changed_hash: str | None
    staged_at: datetime
    updated_at: datetime
    run_id: str | None

    @classmethod
    def from_db(cls, row: sa.Row[Any]) -> OutboxRow:
        m = dict(row._mapping)
        m["state"] = DocState(m["state"])
        m["changed_after_send"] = bool(m["changed_after_send"])
        m["reasons"] = list(m["reasons"] or [])
        m["related"] = dict(m["related"] or {})
        return cls(**m)


@dataclass
class StageCounts:
    """What one stage() call did; small enough for XCom (``as_dict``)."""

    new_pending: int = 0
    new_invalid: int = 0
    revalidated: int = 0
    unchanged: int = 0
    changed_after_send: int = 0
    change_reverted: int = 0  # a flagged source change was undone: the source matches what was sent again

    @property
    def total(self) -> int:
        return (
            self.new_pending
            + self.new_invalid
            + self.revalidated
            + self.unchanged
            + self.changed_after_send
            + self.change_reverted
        )

    def add(self, other: StageCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "total": self.total}


# --------------------------------------------------------------------------------------------- transitions


@dataclass(frozen=True)
class _Change:
    name: str
    sources: frozenset[DocState]
    target: DocState


CLAIM = _Change("claim", frozenset({S.PENDING}), S.SENDING)
MARK_SENT = _Change("mark_sent", frozenset({S.SENDING, S.UNKNOWN}), S.SENT)
MARK_REJECTED = _Change("mark_rejected", frozenset({S.SENDING}), S.REJECTED)
MARK_UNKNOWN = _Change("mark_unknown", frozenset({S.SENDING}), S.UNKNOWN)
RELEASE_TO_PENDING = _Change("release_to_pending", frozenset({S.SENDING}), S.PENDING)
SETTLE_NOT_CREATED = _Change("settle_not_created", frozenset({S.UNKNOWN}), S.PENDING)
STOP_BEFORE_SENDING = _Change("stop_before_sending", frozenset({S.PENDING}), S.INVALID)
# a person's choice (resend): rejected, or sent and deleted in Lexware Office (_resend_refusal decides)
RESEND = _Change("resend", frozenset({S.REJECTED, S.SENT}), S.PENDING)
CHANGES = (CLAIM, MARK_SENT, MARK_REJECTED, MARK_UNKNOWN, RELEASE_TO_PENDING, SETTLE_NOT_CREATED,
           STOP_BEFORE_SENDING, RESEND)

for _c in CHANGES:  # the functions below may never allow more than the table
    assert all(_c.target in ALLOWED[s] for s in _c.sources), _c


def _apply(engine: sa.Engine, row_id: int, change: _Change, values: dict[str, Any],
           *extra: sa.ColumnElement[bool]) -> bool:
    """Run one conditional UPDATE; True if it applied, False if the row was in another state."""
    with write_transaction(engine) as conn:
        result = conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == row_id, outbox.c.state.in_([s.value for s in change.sources]), *extra)
            .values(state=change.target.value, updated_at=utcnow(), **values)
        )
        return result.rowcount == 1


def _current(engine: sa.Engine, row_id: int) -> tuple[str, str]:
    with read_transaction(engine) as conn:
        row = conn.execute(sa.select(outbox.c.state, outbox.c.doc_key).where(outbox.c.id == row_id)).first()
    if row is None:
        raise RowNotFound(f"outbox row {row_id} does not exist")
    return row.state, row.doc_key


def _transition(engine: sa.Engine, row_id: int, change: _Change, values: dict[str, Any]) -> None:
    if not _apply(engine, row_id, change, values):
        state, doc_key = _current(engine, row_id)
        raise TransitionError(row_id, doc_key, state, change.target.value)


def claim(engine: sa.Engine, row_id: int, *, run_id: str | None = None) -> bool:
    """pending -> sending, committed before the POST. False if the row is no longer pending."""
    values: dict[str, Any] = {
        "attempts": outbox.c.attempts + 1,
        "sending_started_at": utcnow(),
    }
    if run_id is not None:
        values["run_id"] = run_id
    if _apply(engine, row_id, CLAIM, values):
        return True
    _current(engine, row_id)  # raises RowNotFound for a wrong id; a lost race is just False
    return False


def mark_sent(engine: sa.Engine, row_id: int, *, lexware_id: str | None, sent_at: datetime | None = None,
              id_not_returned: str | None = None) -> None:
    """sending|unknown -> sent: Lexware answered 2xx, or a reconcile found the document.

    ``lexware_id`` may be None only with ``id_not_returned`` saying why (a reconciled transaction whose id the
    partner API does not return); that note is kept in ``last_error`` for the report.
    """
    if not lexware_id and not id_not_returned:
        raise ValueError("lexware_id must not be empty")
    values: dict[str, Any] = {"lexware_id": lexware_id or None, "sent_at": sent_at or utcnow()}
    if id_not_returned:
        values["last_error"] = id_not_returned
    _transition(engine, row_id, MARK_SENT, values)


def mark_rejected(engine: sa.Engine, row_id: int, *, reasons: list[dict[str, Any]], error: str) -> None:
    """sending -> rejected: Lexware refused the document (nothing was created); reasons are field-level."""
    _transition(engine, row_id, MARK_REJECTED, {"reasons": list(reasons), "last_error": error})


def mark_unknown(engine: sa.Engine, row_id: int, *, error: str) -> None:
    """sending -> unknown: the request may have reached Lexware; reconcile before any re-send."""
    _transition(engine, row_id, MARK_UNKNOWN, {"last_error": error})


def release_to_pending(engine: sa.Engine, row_id: int, *, note: str) -> None:
    """sending -> pending: provably never executed (a 429, an error raised before the request was sent).

    An ``unknown`` row goes back to pending only through :func:`settle_not_created`, after its grace period.

    A change flagged while the row was frozen is cleared: the old payload was never delivered, so the
    next stage re-validates the row against the current source instead of reporting it.
    """
    _transition(
        engine,
        row_id,
        RELEASE_TO_PENDING,
        {"last_error": note, "changed_after_send": False, "changed_hash": None},
    )


def stop_before_sending(engine: sa.Engine, row_id: int, *, reasons: list[dict[str, Any]]) -> None:
    """pending -> invalid: a rule checked at delivery (e.g. BEFORE_EXPORT_SINCE) forbids sending it; reasons kept.

    Re-staged like any invalid row when the source changes.
    """
    _transition(engine, row_id, STOP_BEFORE_SENDING, {"reasons": list(reasons)})


def settle_not_created(engine: sa.Engine, row_id: int, *, grace_seconds: float, note: str,
                       now: datetime | None = None) -> bool:
    """unknown -> pending once a lookup found nothing AND the attempt is older than ``grace_seconds``.

    Lexware may commit after answering 504 (or after the client gave up), so "not found" soon after the attempt
    proves nothing (see ``lexoffice.delivery.grace``). The attempt time is ``sending_started_at``, which only a
    new claim changes. False (nothing changed) while the attempt is younger: the row stays ``unknown``, and a
    later run looks again. Like ``release_to_pending`` it clears a change flagged meanwhile.
    """
    cutoff = (now or utcnow()) - timedelta(seconds=grace_seconds)
    started = outbox.c.sending_started_at
    if _apply(engine, row_id, SETTLE_NOT_CREATED,
              {"last_error": note, "changed_after_send": False, "changed_hash": None},
              sa.or_(started.is_(None), started <= cutoff)):
        return True
    state, doc_key = _current(engine, row_id)
    if state != S.UNKNOWN.value:
        raise TransitionError(row_id, doc_key, state, SETTLE_NOT_CREATED.target.value)
    return False


def note_unknown(engine: sa.Engine, row_ids: Sequence[int], *, note: str) -> int:
    """Say on ``unknown`` rows why they stay unknown (e.g. an ambiguous lookup a person must resolve)."""
    if not row_ids:
        return 0
    with write_transaction(engine) as conn:
        return conn.execute(
            sa.update(outbox).where(outbox.c.id.in_(list(row_ids)), outbox.c.state == S.UNKNOWN.value)
            .values(last_error=note, updated_at=utcnow())
        ).rowcount


@dataclass(frozen=True)
class ResendResult:
    """What :func:`resend` did: the doc keys now ``pending``, and why each other one was left alone."""

    moved: list[str]
    refused: dict[str, str]  # doc key -> why not (German, then English)


def resend(engine: sa.Engine, *, tenant_id: str, stream: str, doc_keys: Sequence[str],
           actor: str) -> ResendResult:
    """A person's choice to send documents again: the one way back to ``pending`` a person has.

    Accepted, and nothing else: ``rejected`` (Lexware refused it, nothing was created, so sending again cannot
    duplicate) and ``sent`` whose draft the status sync found deleted in Lexware Office under exactly the id
    the row holds (so two people releasing the same draft cannot send it twice). Each move is one conditional
    UPDATE and is recorded in the document's history with ``actor``. A released deleted draft loses its
    Lexware id and send times, and a flagged source change: the next stage re-validates it against the source.
    """
    from lexoffice.state import history
    from lexoffice.state.schema import lexware_status

    keys = list(dict.fromkeys(doc_keys))
    c = outbox.c
    deleted_here = sa.exists().where(
        lexware_status.c.tenant_id == c.tenant_id, lexware_status.c.stream == c.stream,
        lexware_status.c.doc_key == c.doc_key, lexware_status.c.status == "deleted",
        lexware_status.c.lexware_id == c.lexware_id)
    moved: list[str] = []
    refused: dict[str, str] = {}
    with write_transaction(engine) as conn:
        for start in range(0, len(keys), _IN_CHUNK):
            chunk = keys[start : start + _IN_CHUNK]
            found = {r.doc_key: r for r in conn.execute(
                sa.select(c.id, c.doc_key, c.state, c.lexware_id, deleted_here.label("deleted"))
                .where(c.tenant_id == tenant_id, c.stream == str(stream), c.doc_key.in_(chunk)))}
            for key in chunk:
                row = found.get(key)
                why = _resend_refusal(row)
                if why:
                    refused[key] = why
                    continue
                assert row is not None
                if row.state == S.REJECTED.value:
                    guard: list[sa.ColumnElement[bool]] = []
                    values: dict[str, Any] = {"last_error": "selected again for sending after it was rejected"}
                    message = "erneut zum Senden ausgewählt, nachdem Lexware Office es abgelehnt hatte"
                else:
                    guard = [c.lexware_id == row.lexware_id, deleted_here]
                    values = {"lexware_id": None, "sent_at": None, "sending_started_at": None,
                              "changed_after_send": False, "changed_hash": None,
                              "last_error": f"in Lexware gelöscht ({row.lexware_id}); erneut zum Senden freigegeben"}
                    message = f"in Lexware Office gelöscht ({row.lexware_id}); erneut zum Senden freigegeben"
                done = conn.execute(
                    sa.update(outbox).where(c.id == row.id, c.state == row.state, *guard)
                    .values(state=RESEND.target.value, updated_at=utcnow(), **values)).rowcount
                if not done:  # another writer changed the row since it was read
                    refused[key] = "inzwischen geändert; bitte Liste neu laden (changed meanwhile; reload)"
                    continue
                history.record(conn, tenant_id=tenant_id, stream=stream, doc_key=key, kind=history.RESEND,
                               from_state=row.state, to_state=RESEND.target.value, actor=actor, message=message)
                moved.append(key)
    return ResendResult(moved=moved, refused=refused)


def _resend_refusal(row: sa.Row[Any] | None) -> str | None:
    """Why :func:`resend` leaves a document alone; None if it may go back to ``pending``. The one place that
    decides what a resend accepts."""
    if row is None:
        return "kein Beleg dieses Mandanten im Ausgang (not staged for this tenant)"
    if row.state == S.REJECTED.value or (row.state == S.SENT.value and row.deleted):
        return None
    if row.state == S.SENT.value:
        return ("gesendet und in Lexware Office nicht als gelöscht bekannt; nur abgelehnte oder in Lexware "
                "gelöschte Belege werden erneut gesendet (sent and not known as deleted in Lexware)")
    return (f"Status '{row.state}': nur abgelehnte oder in Lexware gelöschte Belege werden erneut gesendet "
            f"(only rejected documents or drafts deleted in Lexware can be sent again)")


def orphaned_sending_to_unknown(engine: sa.Engine, *, tenant_id: str, stream: str | None) -> int:
    """Rows left in ``sending`` by a dead sender become ``unknown``. Call only while holding the org lease.

    With the lease held nobody else can be sending for this organisation, so any ``sending`` row belongs
    to a sender that died between its write-ahead commit and recording the outcome. ``stream=None``
    covers every stream of the tenant.
    """
    conditions = [outbox.c.tenant_id == tenant_id, outbox.c.state == S.SENDING.value]
    if stream is not None:
        conditions.append(outbox.c.stream == stream)
    with write_transaction(engine) as conn:
        return conn.execute(
            sa.update(outbox)
            .where(*conditions)
            .values(
                state=S.UNKNOWN.value,
                updated_at=utcnow(),
                last_error="found in 'sending' when the organisation lease was taken: the previous sender "
                "stopped before recording the outcome; reconcile before any re-send",
            )
        ).rowcount


# ------------------------------------------------------------------------------------------------ staging


@dataclass
class _Plan:
    inserts: list[StagedDocument] = field(default_factory=list)
    revalidations: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    reverts: list[dict[str, Any]] = field(default_factory=list)
    counts: StageCounts = field(default_factory=StageCounts)
    now: datetime = field(default_factory=utcnow)


def _validate_doc(doc: StagedDocument) -> None:
    if not doc.doc_key:
        raise ValueError("a staged document needs a doc_key")
    if doc.event_time.tzinfo is None or doc.event_time.utcoffset() is None:
        raise ValueError(f"{doc.doc_key}: event_time must be timezone-aware, got {doc.event_time.isoformat()}")
    if type(doc.reasons) is not tuple:
        raise TypeError(f"{doc.doc_key}: reasons must be a tuple of Reason, got {type(doc.reasons).__name__}")
    if doc.is_valid and doc.payload is None:
        raise ValueError(f"{doc.doc_key}: a valid document needs a payload")


def _state_of(doc: StagedDocument) -> DocState:
    return S.INVALID if doc.reasons else S.PENDING


def _doc_values(doc: StagedDocument) -> dict[str, Any]:
    return {
        "state": _state_of(doc).value,
        "content_hash": doc.content_hash,
        "payload": doc.payload,
        "reasons": [r.as_dict() for r in doc.reasons],
        "source_ref": doc.source_ref,
        "event_time": doc.event_time,
        "group_key": doc.group_key,
        "sort_key": doc.sort_key,
        "related": dict(doc.related),
    }


def _plan(existing: dict[str, sa.Row[Any]], docs: dict[str, StagedDocument], run_id: str | None) -> _Plan:
    """Decide per document what staging does; pure, so a lost race can simply plan again."""
    plan = _Plan()
    for key, doc in docs.items():
        row = existing.get(key)
        if row is None:
            plan.inserts.append(doc)
            if doc.reasons:
                plan.counts.new_invalid += 1
            else:
                plan.counts.new_pending += 1
            continue
        state = DocState(row.state)
        if state in RESTAGEABLE:
            if row.content_hash == doc.content_hash:
                plan.counts.unchanged += 1
            else:
                plan.revalidations.append(
                    {f"b_{k}": v for k, v in _doc_values(doc).items()}
                    | {"b_id": row.id, "b_seen_hash": row.content_hash, "b_run_id": run_id or row.run_id}
                )
                plan.counts.revalidated += 1
        elif row.content_hash == doc.content_hash:
            if row.changed_after_send:
                plan.reverts.append({"b_id": row.id, "b_seen_hash": row.content_hash})
                plan.counts.change_reverted += 1
            else:
                plan.counts.unchanged += 1
        elif row.changed_after_send and row.changed_hash == doc.content_hash:
            plan.counts.unchanged += 1  # already flagged with this very change
        else:
            plan.flags.append({"b_id": row.id, "b_seen_hash": row.content_hash, "b_changed_hash": doc.content_hash})
            plan.counts.changed_after_send += 1
    return plan


def _state_in(states: Iterable[DocState]) -> sa.ColumnElement[bool]:
    """``state IN (…)`` with inline constants: expanding IN parameters cannot be used with executemany."""
    return outbox.c.state.in_([sa.literal_column(f"'{DocState(s).value}'") for s in sorted(states)])


def _revalidate_statement() -> sa.Update:
    c = outbox.c
    return (
        sa.update(outbox)
        .where(
            c.id == sa.bindparam("b_id"),
            _state_in(RESTAGEABLE),
            c.content_hash == sa.bindparam("b_seen_hash"),
        )
        .values(
            state=sa.bindparam("b_state"),
            content_hash=sa.bindparam("b_content_hash"),
            payload=sa.bindparam("b_payload", type_=c.payload.type),
            reasons=sa.bindparam("b_reasons", type_=c.reasons.type),
            source_ref=sa.bindparam("b_source_ref"),
            event_time=sa.bindparam("b_event_time", type_=c.event_time.type),
            group_key=sa.bindparam("b_group_key"),
            sort_key=sa.bindparam("b_sort_key"),
            related=sa.bindparam("b_related", type_=c.related.type),
            run_id=sa.bindparam("b_run_id"),
            last_error=None,
            lexware_id=None,
            changed_after_send=False,
            changed_hash=None,
            updated_at=utcnow(),
        )
    )


def _frozen_statement(**values: Any) -> sa.Update:
    c = outbox.c
    return (
        sa.update(outbox)
        .where(
            c.id == sa.bindparam("b_id"),
            _state_in(FROZEN),
            c.content_hash == sa.bindparam("b_seen_hash"),
        )
        .values(updated_at=utcnow(), **values)
    )


class _LostRace(Exception):
    pass


def _existing(conn: sa.Connection, tenant_id: str, stream: str, keys: Sequence[str]) -> dict[str, sa.Row[Any]]:
    c = outbox.c
    columns = (c.id, c.doc_key, c.state, c.content_hash, c.changed_after_send, c.changed_hash, c.run_id)
    scope = (c.tenant_id == tenant_id, c.stream == stream)
    if is_postgres(conn):
        # One JSON text parameter instead of thousands of placeholders or a list the driver adapts key by key.
        wanted = sa.select(sa.func.json_array_elements_text(sa.bindparam("keys", list(keys),
                                                                         type_=postgresql.JSON)).table_valued("value"))
        return {r.doc_key: r for r in conn.execute(sa.select(*columns).where(*scope, c.doc_key.in_(wanted)))}
    found: dict[str, sa.Row[Any]] = {}
    for start in range(0, len(keys), _IN_CHUNK):
        query = sa.select(*columns).where(*scope, c.doc_key.in_(keys[start : start + _IN_CHUNK]))
        found.update((r.doc_key, r) for r in conn.execute(query))
    return found


# Columns written when a document is first staged, in COPY order.
_INSERT_COLUMNS = ("tenant_id", "stream", "doc_key", "state", "content_hash", "payload", "reasons", "source_ref",
                   "event_time", "group_key", "sort_key", "related", "staged_at", "updated_at", "run_id")
_PG_COPY = f"COPY outbox ({', '.join(_INSERT_COLUMNS)}) FROM STDIN"
_json_bytes = msgspec.json.Encoder().encode


def _to_json(value: Any) -> str:
    """Compact JSON text, UTF-8 as is (what ``json.dumps`` would write, read back equal; much faster)."""
    return _json_bytes(value).decode("utf-8")


def _copy_text(value: str | None) -> str:
    """One field of PostgreSQL's COPY text format: NULL is \\N; backslash, tab and line breaks escaped."""
    if value is None:
        return "\\N"
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\n" in value or "\r" in value or "\t" in value:  # (str.translate is ten times slower on long text)
        value = value.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return value


def _copy_lines(tenant_id: str, stream: str, docs: list[StagedDocument], now: datetime, run_id: str | None) -> str:
    """The COPY text of the new rows: JSON and timestamps formatted here, in one pass, without row dicts.

    Documents of one page share their ``related`` objects (one account for many transactions) and often their
    reasons (the same rule broken by many rows), so each distinct one is serialised once.
    """
    head = f"{_copy_text(tenant_id)}\t{_copy_text(stream)}\t"
    tail = f"\t{now.isoformat()}\t{now.isoformat()}\t{_copy_text(run_id)}\n"
    related_json: dict[int, str] = {}
    reasons_json: dict[tuple[Reason, ...], str] = {(): "[]"}
    lines = []
    for doc in docs:
        related = doc.related
        rel = related_json.get(id(related))
        if rel is None:
            rel = related_json[id(related)] = _copy_text(_to_json(related))
        payload = "\\N" if doc.payload is None else _copy_text(_to_json(doc.payload))
        reasons = reasons_json.get(doc.reasons)
        if reasons is None:
            reasons = reasons_json[doc.reasons] = _copy_text(_to_json([r.as_dict() for r in doc.reasons]))
        lines.append(
            f"{head}{_copy_text(doc.doc_key)}\t{_state_of(doc).value}\t{doc.content_hash}\t{payload}\t{reasons}\t"
            f"{_copy_text(doc.source_ref)}\t{doc.event_time.isoformat()}\t{_copy_text(doc.group_key)}\t"
            f"{_copy_text(doc.sort_key)}\t{rel}{tail}"
        )
    return "".join(lines)


def _insert_new_postgres(conn: sa.Connection, tenant_id: str, stream: str, docs: list[StagedDocument],
                         now: datetime, run_id: str | None) -> int:
    """COPY the new rows straight into the outbox: PostgreSQL's bulk path, no placeholders, no statements per row.

    The rows were planned as new from a read in this transaction; if a concurrent stager inserted one of
    them meanwhile, the unique key stops the COPY, the batch rolls back and is planned again.
    """
    from psycopg.errors import UniqueViolation

    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]  # same transaction
    try:
        with cursor.copy(_PG_COPY) as copy:
            copy.write(_copy_lines(tenant_id, stream, docs, now, run_id).encode("utf-8"))
    except UniqueViolation:
        raise _LostRace from None
    finally:
        cursor.close()
    return len(docs)


def _insert_new(conn: sa.Connection, tenant_id: str, stream: str, docs: list[StagedDocument], now: datetime,
                run_id: str | None) -> int:
    """Insert new rows, skipping keys a concurrent stager inserted first; return how many were inserted."""
    if is_postgres(conn) and conn.dialect.driver == "psycopg":  # COPY needs psycopg 3
        return _insert_new_postgres(conn, tenant_id, stream, docs, now, run_id)
    statement = (
        dialect_insert(conn, outbox)
        .on_conflict_do_nothing(index_elements=["tenant_id", "stream", "doc_key"])
        .returning(outbox.c.doc_key)
    )
    rows = [{**_doc_values(doc), "tenant_id": tenant_id, "stream": stream, "doc_key": doc.doc_key,
             "staged_at": now, "updated_at": now, "run_id": run_id} for doc in docs]
    return len(conn.execute(statement, rows).all())


def _execute_plan(conn: sa.Connection, tenant_id: str, stream: str, plan: _Plan, run_id: str | None) -> None:
    """Write the plan; raise _LostRace (rolling the batch back) if any row changed under us."""
    if plan.inserts and _insert_new(conn, tenant_id, stream, plan.inserts, plan.now, run_id) != len(plan.inserts):
        raise _LostRace
    for statement, params in (
        (_revalidate_statement(), plan.revalidations),
        (_frozen_statement(changed_after_send=True, changed_hash=sa.bindparam("b_changed_hash")), plan.flags),
        (_frozen_statement(changed_after_send=False, changed_hash=None), plan.reverts),
    ):
        if params and conn.execute(statement, params).rowcount != len(params):
            raise _LostRace


def _stage_batch(
    engine: sa.Engine, tenant_id: str, stream: str, docs: dict[str, StagedDocument], run_id: str | None,
    *, expect_new: bool = False,
) -> StageCounts:
    """Write one batch in one transaction; with ``expect_new``, first try to insert it without looking."""
    keys = list(docs)
    for _ in range(_MAX_STAGE_ATTEMPTS):
        try:
            with write_transaction(engine) as conn:
                plan = _insert_all_as_new(conn, tenant_id, stream, docs, run_id) if expect_new else None
                if plan is None:
                    plan = _plan(_existing(conn, tenant_id, stream, keys), docs, run_id)
                    _execute_plan(conn, tenant_id, stream, plan, run_id)
            return plan.counts
        except _LostRace:
            continue  # a concurrent claim or stage changed a row: the batch rolled back; plan again
    raise StageConflict(
        f"staging {len(keys)} documents of tenant {tenant_id!r}/{stream} lost {_MAX_STAGE_ATTEMPTS} races in a row"
    )


def _insert_all_as_new(conn: sa.Connection, tenant_id: str, stream: str, docs: dict[str, StagedDocument],
                       run_id: str | None) -> _Plan | None:
    """Insert every document of the batch as new, without reading the outbox first; None if one exists.

    While a window is staged for the first time every batch is new, and the lookup of its keys cost about a
    sixth of PostgreSQL's work per document. The unique key still decides: if any key is already there, the
    insert fails, the savepoint is rolled back, and the caller plans the batch against what exists.
    """
    plan = _plan({}, docs, run_id)
    try:
        with conn.begin_nested():
            _execute_plan(conn, tenant_id, stream, plan, run_id)
    except _LostRace:
        return None
    return plan


def _batches(docs: Iterable[StagedDocument], size: int) -> Iterator[dict[str, StagedDocument]]:
    iterator = iter(docs)
    while batch := list(islice(iterator, size)):
        by_key: dict[str, StagedDocument] = {}
        for doc in batch:
            _validate_doc(doc)
            by_key[doc.doc_key] = doc  # the last occurrence of a key wins
        yield by_key


def _require_tenant(engine: sa.Engine, tenant_id: str) -> None:
    with read_transaction(engine) as conn:
        if conn.execute(sa.select(tenants.c.tenant_id).where(tenants.c.tenant_id == tenant_id)).first() is None:
            raise TenantNotFound(tenant_id)


#: How ``stage`` hands its batches to the writer: ``write_all(batches, write)``, in order, one at a time.
WriteAll = Callable[[Iterable[Any], Callable[[Any], None]], None]


def one_after_another(batches: Iterable[Any], write: Callable[[Any], None]) -> None:
    """Write each batch before the next one is built (the default ``WriteAll``)."""
    for batch in batches:
        write(batch)


def stage(
    engine: sa.Engine,
    *,
    tenant_id: str,
    stream: str,
    docs: Iterable[StagedDocument],
    run_id: str | None = None,
    batch_size: int = DEFAULT_STAGE_BATCH,
    on_batch: Callable[[StageCounts], None] | None = None,
    write_all: WriteAll = one_after_another,
) -> StageCounts:
    """Upsert validated documents into the outbox, idempotently, in batches.

    new -> pending/invalid; same hash -> unchanged (nothing written); changed and re-stageable
    (invalid/pending/rejected) -> payload, reasons and state replaced; changed and sending/sent/unknown ->
    flagged ``changed_after_send`` with the new hash in ``changed_hash``, never re-sent.
    Each batch is one transaction; a batch that loses a race with a concurrent claim is planned again.
    A batch that follows one of only new documents is inserted without reading the outbox first (the unique
    key catches a document that exists; that batch is then planned as usual).
    ``write_all`` may overlap writing a batch with building the next (staging passes a thread for that on a
    database server); batches are still written one at a time, in order. ``on_batch`` gets the running totals
    after each commit.
    """
    stream = str(stream)
    _require_tenant(engine, tenant_id)
    counts = StageCounts()
    needs_statistics = _never_analyzed(engine)
    expect_new = False  # the first batch looks; after a batch of only new documents the next one tries without

    def write(batch: dict[str, StagedDocument]) -> None:
        nonlocal needs_statistics, expect_new
        done = _stage_batch(engine, tenant_id, stream, batch, run_id, expect_new=expect_new)
        expect_new = done.new_pending + done.new_invalid == done.total
        counts.add(done)
        if needs_statistics and done.new_pending + done.new_invalid:
            _analyze(engine)
            needs_statistics = False
        if on_batch is not None:
            on_batch(counts)

    write_all(_batches(docs, batch_size), write)
    return counts


def _never_analyzed(engine: sa.Engine) -> bool:
    """Whether PostgreSQL has no statistics for the outbox yet (a new database).

    Without them the planner does not know that doc_key is unique, reads the batch's keys by scanning all
    of the tenant's rows, and a first stage into an empty outbox becomes quadratic (measured: 200,000
    documents took minutes instead of seconds). One ANALYZE after the first batch fixes the estimates for
    good, since they say "unique", not "n rows".
    """
    if not is_postgres(engine):
        return False
    with read_transaction(engine) as conn:
        reltuples = conn.execute(
            sa.text("SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)"), {"table": outbox.name}
        ).scalar_one()
    return float(reltuples) <= 0  # -1 (PostgreSQL 14+) or 0 (older): never vacuumed or analyzed


def _analyze(engine: sa.Engine) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"ANALYZE {outbox.name}"))
    except sa.exc.DBAPIError as exc:  # e.g. a role that may write but does not own the table
        log.warning("could not ANALYZE the outbox (%s); staging continues, possibly slowly", type(exc.orig).__name__)


# -------------------------------------------------------------------------------------------------- reads


def _filters(
    tenant_id: str, stream: str, states: Iterable[DocState | str] | None, changed_after_send: bool | None,
    run_id: str | None = None,
) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [outbox.c.tenant_id == tenant_id, outbox.c.stream == str(stream)]
    if run_id is not None:  # rows this run staged or claimed last
        conditions.append(outbox.c.run_id == run_id)
    if states is not None:
        values = [DocState(s).value for s in states]
        # "= :state" for one state, so every database sees the equality it can seek an index with
        if len(values) == 1:
            conditions.append(outbox.c.state == values[0])
        else:
            conditions.append(outbox.c.state.in_(values))  # an empty list matches nothing
    if changed_after_send is not None:
        conditions.append(outbox.c.changed_after_send.is_(changed_after_send))
    return conditions


def _delivery_order(row: OutboxRow) -> tuple[str, str, int]:
    return (row.group_key or "", row.sort_key, row.id)


def get_row(engine: sa.Engine, row_id: int) -> OutboxRow:
    with read_transaction(engine) as conn:
        row = conn.execute(sa.select(outbox).where(outbox.c.id == row_id)).first()
    if row is None:
        raise RowNotFound(f"outbox row {row_id} does not exist")
    return OutboxRow.from_db(row)


def rows(
    engine: sa.Engine,
    *,
    tenant_id: str,
    stream: str,
    states: Iterable[DocState | str] | None = None,
    doc_keys: Sequence[str] | None = None,
    order_by_sort_key: bool = False,
    changed_after_send: bool | None = None,
) -> list[OutboxRow]:
    """Rows of one tenant and stream, by id, or in delivery order (group_key, sort_key, id)."""
    conditions = _filters(tenant_id, stream, states, changed_after_send)
    result: list[OutboxRow] = []
    with read_transaction(engine) as conn:
        if doc_keys is None:
            result = [OutboxRow.from_db(r) for r in conn.execute(sa.select(outbox).where(*conditions))]
        else:
            keys = list(dict.fromkeys(doc_keys))
            for start in range(0, len(keys), _IN_CHUNK):
                query = sa.select(outbox).where(*conditions, outbox.c.doc_key.in_(keys[start : start + _IN_CHUNK]))
                result.extend(OutboxRow.from_db(r) for r in conn.execute(query))
    # Sorted here, not in SQL, so the order is the same on SQLite and on any PostgreSQL collation.
    result.sort(key=_delivery_order if order_by_sort_key else (lambda r: r.id))
    return result


def iter_rows(
    engine: sa.Engine,
    *,
    tenant_id: str,
    stream: str,
    states: Iterable[DocState | str] | None = None,
    changed_after_send: bool | None = None,
    chunk_size: int = 1000,
    run_id: str | None = None,
) -> Iterator[OutboxRow]:
    """Like ``rows`` for large sets: keyset pages in id order, each its own short read transaction.

    Rows come one state at a time (in the order of ``states``; all states in DocState order if None), so
    every page is a range scan of ix_outbox_state_order instead of a sort of the whole set. No transaction
    stays open while the caller works, and rows that leave a state meanwhile are not returned by later pages.
    """
    for state in dict.fromkeys(DocState(s) for s in (DocState if states is None else states)):
        yield from _iter_state(engine, tenant_id, stream, state, changed_after_send, chunk_size, run_id)


def _iter_state(
    engine: sa.Engine,
    tenant_id: str,
    stream: str,
    state: DocState,
    changed_after_send: bool | None,
    chunk_size: int,
    run_id: str | None = None,
) -> Iterator[OutboxRow]:
    conditions = _filters(tenant_id, stream, [state], changed_after_send, run_id)
    yield from _keyset_pages(engine, conditions, [outbox.c.id], lambda last: outbox.c.id > last.id, chunk_size)


def _keyset_pages(
    engine: sa.Engine, conditions: list[sa.ColumnElement[bool]], order: list[sa.ColumnElement[Any]],
    after: Callable[[OutboxRow], sa.ColumnElement[bool]], chunk_size: int,
) -> Iterator[OutboxRow]:
    """Rows matching ``conditions`` in ``order``, a page at a time, each page its own short read transaction;
    ``after(last row)`` is the condition for the next page."""
    next_page: sa.ColumnElement[bool] | None = None
    while True:
        query = sa.select(outbox).where(*conditions).order_by(*order).limit(chunk_size)
        if next_page is not None:
            query = query.where(next_page)
        with read_transaction(engine) as conn:
            page = [OutboxRow.from_db(r) for r in conn.execute(query)]
        yield from page
        if len(page) < chunk_size:
            return
        next_page = after(page[-1])


def group_keys(engine: sa.Engine, *, tenant_id: str, stream: str, state: DocState | str) -> list[str]:
    """The distinct group keys (for transactions: the accounts) that have rows in ``state``; few per tenant."""
    query = (sa.select(outbox.c.group_key).where(*_filters(tenant_id, stream, [state], None))
             .group_by(outbox.c.group_key))
    with read_transaction(engine) as conn:
        return sorted(row[0] or "" for row in conn.execute(query))


def iter_group_rows(
    engine: sa.Engine, *, tenant_id: str, stream: str, state: DocState | str, group_key: str, chunk_size: int = 1000,
) -> Iterator[OutboxRow]:
    """One group's rows in ``state`` in delivery order (sort_key, id), as keyset pages (short read transactions).

    sort_key is compared byte-wise ("C"/BINARY collation), which is the order Python's ``sorted`` gives, so the
    order does not depend on the database's collation. A row that leaves the state meanwhile is not returned.
    """
    binary = "C" if is_postgres(engine) else "BINARY"
    sort_key = outbox.c.sort_key.collate(binary)
    group = (outbox.c.group_key.is_(None) | (outbox.c.group_key == "")) if not group_key else (
        outbox.c.group_key == group_key)
    conditions = [*_filters(tenant_id, stream, [state], None), group]
    yield from _keyset_pages(
        engine, conditions, [sort_key, outbox.c.id],
        lambda last: (sort_key > last.sort_key) | ((sort_key == last.sort_key) & (outbox.c.id > last.id)), chunk_size)


def last_sent_in_group(engine: sa.Engine, *, tenant_id: str, stream: str, group_key: str) -> OutboxRow | None:
    """The group's row marked ``sent`` most recently (for transactions: the account's last push we know of)."""
    query = (sa.select(outbox).where(*_filters(tenant_id, stream, [S.SENT], None), outbox.c.group_key == group_key)
             .order_by(outbox.c.sent_at.desc(), outbox.c.id.desc()).limit(1))
    with read_transaction(engine) as conn:
        row = conn.execute(query).first()
    return None if row is None else OutboxRow.from_db(row)


def counts(engine: sa.Engine, *, tenant_id: str, stream: str) -> dict[str, int]:
    """Rows per state (every state present, zero if none) plus ``changed_after_send``."""
    result = {s.value: 0 for s in DocState}
    with read_transaction(engine) as conn:
        for state, n in conn.execute(
            sa.select(outbox.c.state, sa.func.count())
            .where(*_filters(tenant_id, stream, None, None))
            .group_by(outbox.c.state)
        ):
            result[state] = int(n)
        result["changed_after_send"] = int(
            conn.execute(
                sa.select(sa.func.count()).where(*_filters(tenant_id, stream, None, True))
            ).scalar_one()
        )
    return result


def count_rows(engine: sa.Engine, *, tenant_id: str, stream: str, states: Iterable[DocState | str],
               run_id: str | None = None) -> int:
    """How many rows are in ``states`` (of one run only, if ``run_id`` is given)."""
    query = sa.select(sa.func.count()).where(*_filters(tenant_id, stream, states, None, run_id))
    with read_transaction(engine) as conn:
        return int(conn.execute(query).scalar_one())
