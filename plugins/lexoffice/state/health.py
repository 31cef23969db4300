"""Connection health per tenant: when the last call to Lexware Office worked, and the last error and when.

The tenants table's ``connected`` flag records a person's choice (connect / disconnect); whether the
connection actually works is a different fact, and the UI's indicator shows both. Messages stored here are
already redacted by the client's errors (no keys, no tokens) and are cut to a readable length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from lexoffice.state.db import dialect_insert, read_transaction, utcnow, write_transaction
from lexoffice.state.schema import connection_health

MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class Health:
    tenant_id: str
    last_ok_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None

    @property
    def healthy(self) -> bool:
        """True when a call worked and no error came after it."""
        if self.last_ok_at is None:
            return False
        return self.last_error_at is None or self.last_error_at <= self.last_ok_at


def _upsert(engine: sa.Engine, tenant_id: str, values: dict[str, object]) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            dialect_insert(conn, connection_health)
            .values(tenant_id=tenant_id, **values)
            .on_conflict_do_update(index_elements=["tenant_id"], set_=values)
        )


def record_ok(engine: sa.Engine, tenant_id: str, *, at: datetime | None = None) -> None:
    _upsert(engine, tenant_id, {"last_ok_at": at or utcnow()})


def record_error(engine: sa.Engine, tenant_id: str, message: str, *, at: datetime | None = None) -> None:
    _upsert(engine, tenant_id, {"last_error_at": at or utcnow(), "last_error": message[:MAX_ERROR_CHARS]})


def get_all(engine: sa.Engine) -> dict[str, Health]:
    with read_transaction(engine) as conn:
        return {r.tenant_id: Health(r.tenant_id, r.last_ok_at, r.last_error_at, r.last_error)
                for r in conn.execute(sa.select(connection_health))}
