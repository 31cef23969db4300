"""Staging one window in several processes (lexoffice.parallel_stage) on a real PostgreSQL server: the outbox
ends up exactly as one process leaves it, progress is summed across processes, and a failed or killed
process fails the stage loudly while a re-run stages every document once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timezone

import psutil
import pytest
import sqlalchemy as sa

from demo.generate import generate_bank
from lexoffice import parallel_stage, pipeline
from lexoffice.documents import Stream
from lexoffice.parallel_stage import StageProcessError
from lexoffice.state import tenants
from lexoffice.state.db import init_db, make_engine
from lexoffice.windows import Window
from tests.source.staged import fieldservice_tenants, staging_processes, stored

pytestmark = pytest.mark.postgres

WINDOW = Window(datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2025, 7, 1, tzinfo=timezone.utc))
EXPORT_SINCE = date(2025, 1, 1)


@pytest.fixture
def pg(postgres_url: str) -> sa.Engine:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def _bank(engine: sa.Engine, *tenant_ids: str, per_account: int = 120) -> None:
    company = generate_bank(engine, seed=11, companies=1, accounts_per_company=3, transactions_per_account=per_account,
                            start=date(2025, 1, 1), days=170, collect_expected=False)["company_ids"][0]
    init_db(engine)
    for tenant_id in tenant_ids:
        tenants.add_tenant(engine, tenant_id=tenant_id, name=tenant_id, lexoffice_conn_id=f"lexoffice_{tenant_id}",
                           bank_company_id=company, export_since=EXPORT_SINCE)


def _stage(engine: sa.Engine, tenant_id: str, stream: Stream, processes: int, source: sa.Engine | None = None,
           **kwargs) -> dict:
    return pipeline.stage_tenant(state_engine=engine, source_engine=source or engine,
                                 tenant=tenants.get_tenant(engine, tenant_id), stream=stream, window=WINDOW,
                                 run_id="run-1", processes=processes, **kwargs)


def test_two_processes_stage_transactions_exactly_as_one_does(pg: sa.Engine) -> None:
    _bank(pg, "one", "two")
    seen: list[int] = []

    single = _stage(pg, "one", Stream.TRANSACTIONS, processes=1)
    double = _stage(pg, "two", Stream.TRANSACTIONS, processes=2, on_progress=lambda c: seen.append(c.total))

    assert double["counts"] == single["counts"]
    total = single["counts"]["new_pending"] + single["counts"]["new_invalid"]
    assert total > 300 and single["counts"]["new_invalid"] > 0
    assert stored(pg, "two", Stream.TRANSACTIONS) == stored(pg, "one", Stream.TRANSACTIONS)
    assert seen == sorted(seen) and seen[-1] == total  # summed across the processes, after every batch

    again = _stage(pg, "two", Stream.TRANSACTIONS, processes=2)["counts"]
    assert again["unchanged"] == total and again["new_pending"] == again["new_invalid"] == 0


def test_two_processes_stage_invoices_exactly_as_one_does(pg: sa.Engine) -> None:
    fieldservice_tenants(pg, ("one", "two"), seed=7, drafts=250, days=170, export_since=EXPORT_SINCE)

    single = _stage(pg, "one", Stream.INVOICES, processes=1)
    double = _stage(pg, "two", Stream.INVOICES, processes=2)

    assert double["counts"] == single["counts"]
    assert single["counts"]["new_pending"] + single["counts"]["new_invalid"] == 250
    assert stored(pg, "two", Stream.INVOICES) == stored(pg, "one", Stream.INVOICES)


def test_the_process_count_comes_from_the_environment(pg: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _bank(pg, "env", per_account=20)
    monkeypatch.setenv("LEXOFFICE_STAGE_PROCESSES", "2")
    started: list[int] = []
    real = parallel_stage.stage_window

    def spy(**kwargs):
        started.append(kwargs["processes"])
        return real(**kwargs)

    monkeypatch.setattr(parallel_stage, "stage_window", spy)
    counts = pipeline.stage_tenant(state_engine=pg, source_engine=pg, tenant=tenants.get_tenant(pg, "env"),
                                   stream=Stream.TRANSACTIONS, window=WINDOW)["counts"]
    assert started == [2] and counts["new_pending"] + counts["new_invalid"] > 0


@pytest.mark.parametrize("raw", ["0", "two", "-1"])
def test_a_bad_process_count_names_the_setting(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("LEXOFFICE_STAGE_PROCESSES", raw)
    with pytest.raises(ValueError, match="LEXOFFICE_STAGE_PROCESSES"):
        parallel_stage.configured_processes()


def test_sqlite_and_selections_stage_in_this_process(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    _bank(engine, "lite", per_account=20)
    monkeypatch.setattr(parallel_stage, "stage_window", lambda **_: pytest.fail("no processes for SQLite"))
    counts = _stage(engine, "lite", Stream.TRANSACTIONS, processes=2)["counts"]
    assert counts["new_pending"] + counts["new_invalid"] > 0
    engine.dispose()


def test_a_failing_process_fails_the_stage_without_its_password(pg: sa.Engine, postgres_url: str) -> None:
    _bank(pg, "broken", per_account=20)
    url = sa.make_url(postgres_url).set(password="s3cret-source-pw", database="no_such_database")
    source = make_engine(url)
    with pytest.raises(StageProcessError, match="no_such_database") as failure:
        _stage(pg, "broken", Stream.TRANSACTIONS, processes=2, source=source)
    assert "s3cret-source-pw" not in str(failure.value)
    assert "stages the rest" in str(failure.value)
    source.dispose()


def test_a_killed_process_fails_the_stage_and_a_rerun_stages_everything_once(pg: sa.Engine) -> None:
    _bank(pg, "killed", "reference")
    expected = _stage(pg, "reference", Stream.TRANSACTIONS, processes=1)["counts"]
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            _stage(pg, "killed", Stream.TRANSACTIONS, processes=2)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = exc

    stager = threading.Thread(target=run)
    stager.start()
    deadline = time.monotonic() + 60
    while not staging_processes() and time.monotonic() < deadline:
        time.sleep(0.01)
    victims = staging_processes()
    assert victims, "no staging process was started"
    victims[0].kill()
    stager.join(120)

    assert isinstance(outcome.get("error"), StageProcessError)
    assert "before it was done" in str(outcome["error"]) or "failed" in str(outcome["error"])
    assert not staging_processes()  # the other worker was stopped too

    rerun = _stage(pg, "killed", Stream.TRANSACTIONS, processes=2)["counts"]
    assert rerun["new_pending"] + rerun["new_invalid"] + rerun["unchanged"] == \
        expected["new_pending"] + expected["new_invalid"]
    assert stored(pg, "killed", Stream.TRANSACTIONS) == stored(pg, "reference", Stream.TRANSACTIONS)


def test_a_staging_process_ends_when_the_task_process_that_started_it_is_killed() -> None:
    """A task killed at its timeout leaves no staging process behind, even one still waiting for input."""
    read_end, write_end = os.pipe()  # held open here: the worker never sees end-of-input
    starter = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys, time; "
         f"w = subprocess.Popen([sys.executable, '-m', 'lexoffice.parallel_stage'], stdin={read_end}, "
         "stdout=subprocess.DEVNULL, pass_fds=()); print(w.pid, flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True, pass_fds=(read_end,))
    try:
        worker = psutil.Process(int(starter.stdout.readline()))
        time.sleep(1.0)
        assert worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE  # waiting for its set-up line
        starter.kill()
        starter.wait()
        gone, _ = psutil.wait_procs([worker], timeout=10)
        assert gone, "the staging process outlived the process that started it"
    finally:
        os.close(write_end)
        os.close(read_end)
        starter.kill()


def test_documents_are_staged_with_fewer_collector_passes(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process and (the same function) in every staging process; the default comes back after."""
    import gc

    from lexoffice.gc_thresholds import STAGING_THRESHOLDS
    from lexoffice.state import outbox

    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    _bank(engine, "lite", per_account=5)
    seen: list[tuple[int, int, int]] = []
    real_stage = outbox.stage

    def stage(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(gc.get_threshold())
        return real_stage(*args, **kwargs)

    monkeypatch.setattr(outbox, "stage", stage)
    before = gc.get_threshold()
    counts = _stage(engine, "lite", Stream.TRANSACTIONS, processes=1)["counts"]
    assert counts["new_pending"] + counts["new_invalid"] > 0
    assert seen == [tuple(max(a, b) for a, b in zip(before, STAGING_THRESHOLDS))]
    assert gc.get_threshold() == before
    engine.dispose()
