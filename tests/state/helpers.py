"""Small builders shared by the state tests (importable by worker processes too)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from lexoffice.documents import Reason, StagedDocument, content_hash
from lexoffice.state.schema import outbox

EVENT_TIME = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
REASON = Reason(code="customer.address.missing", field="address.street", message_en="Street missing",
                message_de="Straße fehlt")


def doc(key: str, *, version: int = 1, valid: bool = True, group: str | None = "cust:1", sort: str = "",
        event_time: datetime = EVENT_TIME) -> StagedDocument:
    """A staged document whose hash changes with ``version``."""
    payload: dict[str, Any] = {"title": "Rechnung", "remark": f"{key} v{version}", "name": "Müller & Söhne"}
    return StagedDocument(
        doc_key=key,
        content_hash=content_hash(key, version, valid),
        payload=payload if valid else None,
        reasons=() if valid else (REASON,),
        source_ref=f"RE-{key} (work_order WO-{version})",
        event_time=event_time,
        group_key=group,
        sort_key=sort or key,
        related={"customer_key": group, "lookup": {"email": "info@mueller.de", "name": "Müller"}},
    )


def force_state(engine: sa.Engine, row_id: int, state: str) -> None:
    """Put a row into any state, bypassing the state machine (test setup only)."""
    with engine.begin() as conn:
        conn.execute(sa.update(outbox).where(outbox.c.id == row_id).values(state=state))


def row_id(engine: sa.Engine, tenant_id: str, stream: str, doc_key: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(outbox.c.id).where(
            outbox.c.tenant_id == tenant_id, outbox.c.stream == stream, outbox.c.doc_key == doc_key)).scalar_one())
