"""What Lexware Office says about each document we sent: its status, voucher number, and when each changed.

The outbox ends at ``sent``; after that the accountant finalizes (a voucher number), sends, and the invoice is
paid, paid off or voided, or a draft is deleted. The nightly status sync (``lexoffice.followup``) observes that
and records it here: one current row per document and one history row per change. ``paid``, ``paidoff``,
``voided`` and ``deleted`` are final, so a document in one of them is not asked about again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from lexoffice.state.db import dialect_insert, read_transaction, utcnow, write_transaction
from lexoffice.state.schema import LEXWARE_STATUSES, lexware_status, lexware_status_changes, outbox

FINAL_STATUSES = frozenset({"paid", "paidoff", "voided", "deleted"})
_IN_CHUNK = 500


@dataclass(frozen=True)
class SentDocument:
    """A sent document whose Lexware status may still change (what the sync asks Lexware about)."""

    doc_key: str
    lexware_id: str
    sent_at: datetime | None
    sending_started_at: datetime | None
    known_status: str | None  # None: never observed, or observed under an earlier Lexware id
    checked_at: datetime | None = None  # when a sync last saw it (under this Lexware id)

    @property
    def attempted_at(self) -> datetime | None:
        """The earliest moment the document can exist in Lexware (its creation day is on or after it)."""
        times = [t for t in (self.sending_started_at, self.sent_at) if t is not None]
        return min(times) if times else None


@dataclass(frozen=True)
class Observation:
    doc_key: str
    lexware_id: str
    status: str
    voucher_number: str | None = None
    due_date: date | None = None
    changed_at: datetime | None = None  # when it changed in Lexware, if Lexware says (updatedDate)

    def __post_init__(self) -> None:
        if self.status not in LEXWARE_STATUSES:
            raise ValueError(f"{self.doc_key}: unknown Lexware status {self.status!r}; "
                             f"expected one of {', '.join(LEXWARE_STATUSES)}")


@dataclass(frozen=True)
class StatusChange:
    doc_key: str
    lexware_id: str
    old_status: str | None
    new_status: str
    voucher_number: str | None
    changed_at: datetime


@dataclass(frozen=True)
class StatusRow:
    doc_key: str
    lexware_id: str
    status: str
    voucher_number: str | None
    status_changed_at: datetime
    voucher_number_at: datetime | None
    due_date: date | None
    checked_at: datetime


@dataclass(frozen=True)
class OpenSummary:
    """What the status sync must know before it asks Lexware: how many documents are open, since when they can
    exist in Lexware, and since when they were last read (each None when no document says)."""

    count: int
    first_attempt: datetime | None
    first_unread_since: datetime | None


def _open_query(tenant_id: str, stream: str, *columns: Any) -> sa.Select[Any]:
    """Sent documents with a Lexware id whose last known status is not final (or that were never observed)."""
    o, s = outbox.c, lexware_status.c
    joined = outbox.outerjoin(lexware_status, sa.and_(s.tenant_id == o.tenant_id, s.stream == o.stream,
                                                      s.doc_key == o.doc_key))
    return (sa.select(*columns).select_from(joined)
            .where(o.tenant_id == tenant_id, o.stream == str(stream), o.state == "sent", o.lexware_id.is_not(None),
                   sa.or_(s.status.is_(None), s.status.not_in(sorted(FINAL_STATUSES)), s.lexware_id != o.lexware_id)))


def open_summary(engine: sa.Engine, *, tenant_id: str, stream: str) -> OpenSummary:
    """One aggregate query instead of loading every open document: the earliest attempt (the earlier of
    ``sending_started_at`` and ``sent_at``) and the earliest last reading (``checked_at`` under the current
    Lexware id, else the attempt)."""
    o, s = outbox.c, lexware_status.c
    seen = sa.and_(s.lexware_id == o.lexware_id, s.checked_at.is_not(None))
    query = _open_query(tenant_id, stream, sa.func.count(), sa.func.min(o.sending_started_at), sa.func.min(o.sent_at),
                        sa.func.min(sa.case((seen, s.checked_at))),
                        sa.func.min(sa.case((sa.not_(seen), o.sending_started_at))),
                        sa.func.min(sa.case((sa.not_(seen), o.sent_at))))
    with read_transaction(engine) as conn:
        count, started, sent, checked, unseen_started, unseen_sent = conn.execute(query).one()
    return OpenSummary(count, _earliest(started, sent), _earliest(checked, unseen_started, unseen_sent))


def _earliest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return min(known) if known else None


def open_document_pages(engine: sa.Engine, *, tenant_id: str, stream: str,
                        page_size: int = 1000) -> Iterator[list[SentDocument]]:
    """The open documents in keyset pages by outbox id, each read in its own short transaction: memory stays
    bounded by ``page_size`` however many documents are open, and recording a page's statuses in between cannot
    shift the next page (a document that became final drops out behind the cursor)."""
    o, s = outbox.c, lexware_status.c
    columns = (o.id, o.doc_key, o.lexware_id, o.sent_at, o.sending_started_at, s.status, s.checked_at,
               s.lexware_id.label("seen_id"))
    last_id = None
    while True:
        query = _open_query(tenant_id, stream, *columns).order_by(o.id).limit(page_size)
        if last_id is not None:
            query = query.where(o.id > last_id)
        with read_transaction(engine) as conn:
            rows = conn.execute(query).all()
        if not rows:
            return
        yield [SentDocument(r.doc_key, r.lexware_id, r.sent_at, r.sending_started_at,
                            *((r.status, r.checked_at) if r.seen_id == r.lexware_id else (None, None)))
               for r in rows]
        if len(rows) < page_size:
            return
        last_id = rows[-1].id


def record(engine: sa.Engine, *, tenant_id: str, stream: str, observations: Iterable[Observation],
           run_id: str | None = None, now: datetime | None = None) -> list[StatusChange]:
    """Store what the sync saw; return the changes (new status, new voucher number, or a new Lexware id).

    One transaction per call. Observations that change nothing only move ``checked_at``.
    """
    now = now or utcnow()
    wanted = {obs.doc_key: obs for obs in observations}
    changes: list[StatusChange] = []
    with write_transaction(engine) as conn:
        existing = _current(conn, tenant_id, stream, list(wanted))
        upserts: list[dict[str, Any]] = []
        unchanged: list[dict[str, Any]] = []
        for key, obs in wanted.items():
            old = existing.get(key)
            same_id = old is not None and old.lexware_id == obs.lexware_id
            old_status = old.status if same_id else None
            if same_id and old.status == obs.status and old.voucher_number == obs.voucher_number \
                    and old.due_date == obs.due_date:
                unchanged.append({"b_key": key})
                continue
            changed_at = obs.changed_at or now
            status_changed = not same_id or old.status != obs.status
            number_at = (old.voucher_number_at if same_id and old.voucher_number == obs.voucher_number
                         else (changed_at if obs.voucher_number else None))
            upserts.append({
                "tenant_id": tenant_id, "stream": stream, "doc_key": key, "lexware_id": obs.lexware_id,
                "status": obs.status, "voucher_number": obs.voucher_number, "due_date": obs.due_date,
                "status_changed_at": changed_at if status_changed else old.status_changed_at,
                "voucher_number_at": number_at, "checked_at": now,
            })
            if status_changed or (old is not None and old.voucher_number != obs.voucher_number):
                changes.append(StatusChange(key, obs.lexware_id, old_status, obs.status, obs.voucher_number,
                                            changed_at))
        if upserts:
            insert = dialect_insert(conn, lexware_status)
            columns = {c: insert.excluded[c] for c in upserts[0] if c not in ("tenant_id", "stream", "doc_key")}
            conn.execute(insert.on_conflict_do_update(index_elements=["tenant_id", "stream", "doc_key"],
                                                      set_=columns), upserts)
        if unchanged:
            conn.execute(
                sa.update(lexware_status)
                .where(lexware_status.c.tenant_id == tenant_id, lexware_status.c.stream == stream,
                       lexware_status.c.doc_key == sa.bindparam("b_key"))
                .values(checked_at=now), unchanged)
        if changes:
            conn.execute(sa.insert(lexware_status_changes), [
                {"tenant_id": tenant_id, "stream": stream, "doc_key": c.doc_key, "lexware_id": c.lexware_id,
                 "old_status": c.old_status, "new_status": c.new_status, "voucher_number": c.voucher_number,
                 "changed_at": c.changed_at, "recorded_at": now, "run_id": run_id} for c in changes])
    return changes


def statuses(engine: sa.Engine, *, tenant_id: str, stream: str,
             doc_keys: Sequence[str] | None = None) -> dict[str, StatusRow]:
    """The current status row per document key (all of the tenant's stream, or just ``doc_keys``)."""
    with read_transaction(engine) as conn:
        if doc_keys is not None:
            return _current(conn, tenant_id, stream, list(doc_keys))
        query = sa.select(lexware_status).where(lexware_status.c.tenant_id == tenant_id,
                                                lexware_status.c.stream == stream)
        return {r.doc_key: _row(r) for r in conn.execute(query)}


def history(engine: sa.Engine, *, tenant_id: str, stream: str, doc_key: str) -> list[StatusChange]:
    """Every recorded change of one document, oldest first."""
    c = lexware_status_changes.c
    query = (sa.select(lexware_status_changes)
             .where(c.tenant_id == tenant_id, c.stream == stream, c.doc_key == doc_key).order_by(c.id))
    with read_transaction(engine) as conn:
        return [StatusChange(r.doc_key, r.lexware_id, r.old_status, r.new_status, r.voucher_number, r.changed_at)
                for r in conn.execute(query)]


def _current(conn: sa.Connection, tenant_id: str, stream: str, keys: list[str]) -> dict[str, StatusRow]:
    found: dict[str, StatusRow] = {}
    for start in range(0, len(keys), _IN_CHUNK):
        query = sa.select(lexware_status).where(lexware_status.c.tenant_id == tenant_id,
                                                lexware_status.c.stream == stream,
                                                lexware_status.c.doc_key.in_(keys[start:start + _IN_CHUNK]))
        found.update((r.doc_key, _row(r)) for r in conn.execute(query))
    return found


def _row(r: sa.Row[Any]) -> StatusRow:
    return StatusRow(r.doc_key, r.lexware_id, r.status, r.voucher_number, r.status_changed_at,
                     r.voucher_number_at, r.due_date, r.checked_at)
