"""Two senders can never both claim a row; staging never overwrites a row a sender has just claimed."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from lexoffice.state import make_engine, outbox
from lexoffice.state.db import init_db
from lexoffice.state.outbox import DocState, StageCounts
from lexoffice.state.tenants import add_tenant
from tests.state import workers
from tests.state.helpers import doc, row_id

STREAM = "invoices"


def test_threads_claiming_one_row_exactly_one_wins(engine: sa.Engine, tenant: str) -> None:
    outbox.stage(engine, tenant_id=tenant, stream=STREAM, docs=[doc(f"d:{i}") for i in range(10)])
    ids = [row_id(engine, tenant, STREAM, f"d:{i}") for i in range(10)]
    threads_n = 6
    barrier = threading.Barrier(threads_n)
    wins: Counter[int] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def contend() -> None:
        try:
            barrier.wait(timeout=30)
            for rid in ids:
                if outbox.claim(engine, rid):
                    with lock:
                        wins[rid] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=contend) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert wins == {rid: 1 for rid in ids}
    assert all(outbox.get_row(engine, rid).attempts == 1 for rid in ids)


def test_processes_claiming_the_same_rows_never_both_win(db_url: str, engine: sa.Engine, tenant: str) -> None:
    outbox.stage(engine, tenant_id=tenant, stream=STREAM, docs=[doc(f"d:{i}") for i in range(40)])
    ids = [row_id(engine, tenant, STREAM, f"d:{i}") for i in range(40)]

    # One process walks the rows forwards, the other backwards: they meet in the middle and contend there.
    won_a, won_b = workers.run_all(workers.claim_all, [(db_url, ids), (db_url, list(reversed(ids)))])

    assert not set(won_a) & set(won_b)
    assert sorted(won_a + won_b) == sorted(ids)
    assert outbox.counts(engine, tenant_id=tenant, stream=STREAM)["sending"] == 40


def _claim_before_first_revalidation(stager: sa.Engine, claimer: sa.Engine, rid: int) -> list[bool]:
    """Let another connection claim the row right before staging's UPDATE reaches the database."""
    claimed: list[bool] = []

    @sa.event.listens_for(stager, "before_cursor_execute")
    def interfere(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        if not claimed and statement.startswith("UPDATE outbox SET state="):
            claimed.append(outbox.claim(claimer, rid, run_id="sender"))

    return claimed


def test_stage_that_loses_a_race_with_a_claim_flags_instead_of_overwriting(db_url: str) -> None:
    """Staging reads a pending row, a sender claims it, then staging writes: the write must not land.

    On PostgreSQL this is the real production engine. SQLite under ``make_engine`` cannot interleave
    like this at all (BEGIN IMMEDIATE serialises the two writers), so for SQLite the race is provoked
    with a plain engine, whose SELECT runs outside any transaction.
    """
    stager = make_engine(db_url) if db_url.startswith("postgresql") else sa.create_engine(db_url)
    claimer = make_engine(db_url)
    try:
        init_db(claimer)
        add_tenant(claimer, tenant_id="t", name="T", lexoffice_conn_id="c")
        outbox.stage(claimer, tenant_id="t", stream=STREAM, docs=[doc("d:1")])
        rid = row_id(claimer, "t", STREAM, "d:1")
        claimed = _claim_before_first_revalidation(stager, claimer, rid)

        counts = outbox.stage(stager, tenant_id="t", stream=STREAM, docs=[doc("d:1", version=2)])

        assert claimed == [True]
        assert counts == StageCounts(changed_after_send=1)  # counted once, from the attempt that committed
        row = outbox.get_row(claimer, rid)
        assert row.state == DocState.SENDING and row.run_id == "sender"
        assert row.payload is not None and row.payload["remark"] == "d:1 v1"  # what the sender is sending
        assert row.changed_after_send and row.changed_hash == doc("d:1", version=2).content_hash
    finally:
        stager.dispose()
        claimer.dispose()


@pytest.mark.postgres
def test_concurrent_stagers_of_the_same_new_documents(postgres_url: str) -> None:
    """Two stagers insert the same new keys at once: no duplicate, no error, every row staged once."""
    engine = make_engine(postgres_url)
    try:
        init_db(engine)
        add_tenant(engine, tenant_id="t", name="T", lexoffice_conn_id="c")
        docs = [doc(f"d:{i}") for i in range(300)]
        results: list[StageCounts] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(2)

        def run() -> None:
            try:
                barrier.wait(timeout=30)
                results.append(outbox.stage(engine, tenant_id="t", stream=STREAM, docs=docs, batch_size=50))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert sum(r.new_pending for r in results) == 300
        assert sum(r.unchanged for r in results) == 300
        assert len(outbox.rows(engine, tenant_id="t", stream=STREAM)) == 300
    finally:
        engine.dispose()
