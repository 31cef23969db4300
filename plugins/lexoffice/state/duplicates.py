"""What the duplicate audit found: documents whose reference exists more than once in Lexware Office.

Kept apart from the outbox (which says what *we* sent) so that the report can say "twice in Lexware" next to
"sent" instead of ever claiming that a duplicated document was sent once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lexoffice.state.db import read_transaction, utcnow, write_transaction
from lexoffice.state.schema import lexware_duplicates as table


@dataclass(frozen=True)
class Duplicate:
    doc_key: str
    lexware_ids: list[str]
    note: str = ""


def replace(engine: sa.Engine, *, tenant_id: str, stream: str, found: Iterable[Duplicate],
            checked: Iterable[str] | None = None) -> None:
    """Record what an audit found. ``checked`` None: a full audit (everything earlier is replaced); else only
    the keys checked are replaced (a partial check)."""
    rows = [{"tenant_id": tenant_id, "stream": stream, "doc_key": d.doc_key, "lexware_ids": list(d.lexware_ids),
             "note": d.note, "found_at": utcnow()} for d in found]
    where: list[Any] = [table.c.tenant_id == tenant_id, table.c.stream == stream]
    with write_transaction(engine) as conn:
        if checked is None:
            conn.execute(sa.delete(table).where(*where))
        else:
            keys = sorted(set(checked) | {r["doc_key"] for r in rows})
            if keys:
                conn.execute(sa.delete(table).where(*where, table.c.doc_key.in_(keys)))
        if rows:
            conn.execute(sa.insert(table), rows)


def for_stream(engine: sa.Engine, *, tenant_id: str, stream: str) -> dict[str, Duplicate]:
    with read_transaction(engine) as conn:
        result = conn.execute(sa.select(table).where(table.c.tenant_id == tenant_id, table.c.stream == stream))
        return {r.doc_key: Duplicate(r.doc_key, list(r.lexware_ids), r.note) for r in result}
