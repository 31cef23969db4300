"""A document's history: what happened to it besides its current state (a re-send a person chose, a warning).

The outbox row holds only the latest state; an office asking "why was this sent twice?" or "who sent it
again?" needs the earlier steps, so they are appended here and never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lexoffice.state.db import read_transaction, utcnow
from lexoffice.state.schema import document_events

RESEND = "resend"
WARNING = "warning"


@dataclass(frozen=True)
class DocumentEvent:
    kind: str
    from_state: str | None
    to_state: str | None
    message: str
    actor: str | None
    at: datetime


def record(conn: sa.Connection, *, tenant_id: str, stream: str, doc_key: str, kind: str, message: str,
           from_state: str | None = None, to_state: str | None = None, actor: str | None = None) -> None:
    """Append one event, in the caller's transaction (so it is written exactly when the change is)."""
    conn.execute(sa.insert(document_events).values(
        tenant_id=tenant_id, stream=str(stream), doc_key=doc_key, kind=kind, from_state=from_state,
        to_state=to_state, message=message, actor=actor, at=utcnow()))


def events(engine: sa.Engine, *, tenant_id: str, stream: str, doc_key: str) -> list[DocumentEvent]:
    """The document's events, oldest first."""
    c = document_events.c
    query = (sa.select(c.kind, c.from_state, c.to_state, c.message, c.actor, c.at)
             .where(c.tenant_id == tenant_id, c.stream == str(stream), c.doc_key == doc_key).order_by(c.id))
    with read_transaction(engine) as conn:
        return [DocumentEvent(**dict(r._mapping)) for r in conn.execute(query)]


def latest_by_kind(engine: sa.Engine, *, tenant_id: str, stream: str, kind: str) -> dict[str, Any]:
    """doc_key -> the message of its latest event of ``kind`` (for the report)."""
    c = document_events.c
    query = (sa.select(c.doc_key, c.message).where(c.tenant_id == tenant_id, c.stream == str(stream), c.kind == kind)
             .order_by(c.id))
    with read_transaction(engine) as conn:
        return {row.doc_key: row.message for row in conn.execute(query)}
