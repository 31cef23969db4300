"""Facts about invoice drafts that are not part of the draft's content: was its send requested, which draft does
a selection token name, what total does the source show, may the drafts' company send at all.

They are read by small queries of their own (``include/sql/invoice_draft*_*.sql``), not by the window query,
because they must not change a draft's content hash: pressing "An die Buchhaltung senden" on a draft that was
sent already is not a change of the draft.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from lexoffice.source.extract import batches, fetch, query


def requested_in_window(engine: sa.Engine, *, company_id: str, start: datetime, end: datetime) -> list[str]:
    """Ids of the drafts whose send was requested and that were requested or changed in ``[start, end)``."""
    statement = query("invoice_drafts_requested.sql", datetimes=("start", "end"))
    with engine.connect() as conn:
        rows = fetch(conn, statement, {"company_id": company_id, "start": start, "end": end})
    return [str(i) for i in rows.column("id")] if rows else []


def requested_among(engine: sa.Engine, *, company_id: str, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` whose send is requested right now."""
    statement = query("invoice_drafts_requested_by_ids.sql", expanding=("ids",))
    found: set[str] = set()
    with engine.connect() as conn:
        for chunk in batches(sorted(set(ids))):
            rows = fetch(conn, statement, {"company_id": company_id, "ids": list(chunk)})
            if rows:
                found.update(str(i) for i in rows.column("id"))
    return found


@dataclass(frozen=True)
class Selection:
    """What a selection's tokens (source ids or draft numbers) name: source ids, and the tokens naming nothing."""

    ids: list[str]
    missing: list[str]


def resolve_selection(engine: sa.Engine, *, company_id: str, tokens: Sequence[str]) -> Selection:
    """Source ids for tokens that are a draft's id or its number ('RE-2026-00026'); unknown tokens listed."""
    wanted = list(dict.fromkeys(str(t).strip() for t in tokens if str(t).strip()))
    statement = query("invoice_draft_selection.sql", expanding=("ids",))
    ids: dict[str, None] = {}
    named: set[str] = set()
    with engine.connect() as conn:
        for chunk in batches(wanted):
            rows = fetch(conn, statement, {"company_id": company_id, "ids": list(chunk)})
            if not rows:
                continue
            for draft_id, number in zip(rows.column("id"), rows.column("number"), strict=True):
                ids[str(draft_id)] = None
                named.update({str(draft_id), str(number)} if number is not None else {str(draft_id)})
    return Selection(ids=list(ids), missing=[t for t in wanted if t not in named])


def source_totals(engine: sa.Engine, *, company_id: str, ids: Sequence[str]) -> dict[str, Decimal]:
    """The gross total the source shows, per draft id, where the source provides one (exact decimals)."""
    statement = query("invoice_draft_source_totals.sql", expanding=("ids",))
    totals: dict[str, Decimal] = {}
    with engine.connect() as conn:
        for chunk in batches(sorted(set(ids))):
            rows = fetch(conn, statement, {"company_id": company_id, "ids": list(chunk)})
            if not rows:
                continue
            for draft_id, text in zip(rows.column("id"), rows.column("source_gross_total"), strict=True):
                try:
                    totals[str(draft_id)] = Decimal(str(text))
                except InvalidOperation:
                    continue  # not a number: nothing to compare with
    return totals


def company_settings(engine: sa.Engine, *, company_id: str) -> dict[str, Any] | None:
    """The licence and accounting-software settings of a field-service company (delivery's preflight)."""
    with engine.connect() as conn:
        rows = fetch(conn, query("company_settings.sql"), {"company_id": company_id})
    return dict(zip(rows.columns, rows.values[0], strict=True)) if rows else None
