"""One record per (run, tenant, stream): what a pipeline run did, for the report.

Airflow's own metadata is not the place for this: the report must show what happened per tenant even
after Airflow's history is pruned, and it lives next to the outbox it summarises. Recording is an upsert,
so a retried task overwrites its earlier attempt instead of adding a second line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lexoffice.state.db import dialect_insert, read_transaction, write_transaction
from lexoffice.state.schema import runs


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    tenant_id: str
    stream: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    counts: dict[str, Any]
    message: str


def record_run(
    engine: sa.Engine,
    *,
    run_id: str,
    tenant_id: str,
    stream: str,
    started_at: datetime,
    finished_at: datetime | None,
    status: str,
    counts: dict[str, Any],
    message: str = "",
) -> RunRecord:
    """Insert or replace the record of (run_id, tenant_id, stream)."""
    values = {
        "started_at": started_at,
        "finished_at": finished_at,
        "status": str(status),
        "counts": dict(counts),
        "message": message,
    }
    with write_transaction(engine) as conn:
        conn.execute(
            dialect_insert(conn, runs)
            .values(run_id=run_id, tenant_id=tenant_id, stream=str(stream), **values)
            .on_conflict_do_update(index_elements=["run_id", "tenant_id", "stream"], set_=values)
        )
    return RunRecord(run_id=run_id, tenant_id=tenant_id, stream=str(stream), **values)


def list_runs(
    engine: sa.Engine, *, tenant_id: str | None = None, stream: str | None = None, limit: int | None = 100
) -> list[RunRecord]:
    """Run records, newest first."""
    query = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc())
    if tenant_id is not None:
        query = query.where(runs.c.tenant_id == tenant_id)
    if stream is not None:
        query = query.where(runs.c.stream == str(stream))
    if limit is not None:
        query = query.limit(limit)
    with read_transaction(engine) as conn:
        return [
            RunRecord(
                run_id=r.run_id,
                tenant_id=r.tenant_id,
                stream=r.stream,
                started_at=r.started_at,
                finished_at=r.finished_at,
                status=r.status,
                counts=dict(r.counts),
                message=r.message,
            )
            for r in conn.execute(query)
        ]
