"""Staging one large window in several processes: the window cut into slices, each staged by whichever
process is free.

One Python process stages about a core's worth of rows (validation, hashing and JSON are Python work under
one GIL), so a big backfill of one tenant leaves the other cores idle. Here ``processes`` workers
(``python -m lexoffice.parallel_stage``: plain child processes, so they work inside any Airflow task,
including daemonic executor workers, which may not start ``multiprocessing`` children) are handed slices of
the window one at a time, stage each with the ordinary single-process path into the same outbox, and report
their running counts after every committed batch. Slices are disjoint in the cursor column, so no document
is staged by two workers; and staging is idempotent anyway, so a failed or killed worker loses nothing: the
task fails, and its retry stages what is missing and counts the rest as unchanged.

Only for PostgreSQL source and state databases (SQLite works inside one process) and windows, not
selections of ids. How many processes: ``LEXOFFICE_STAGE_PROCESSES`` (default 1, because Airflow already
runs tenants in parallel; raise it on a worker that stages one big tenant, such as a backfill).

Protocol (JSON lines): the parent writes the databases and tenant first, then one slice per line whenever
the worker asks for one, and ``null`` when none is left; the worker writes ``batch`` (running counts),
``next`` (send me a slice), ``done`` (final counts) or ``error`` lines.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import IO, Any

import sqlalchemy as sa

from lexoffice.client.redact import SecretRegistry
from lexoffice.state.outbox import StageCounts
from lexoffice.windows import Window, split

log = logging.getLogger(__name__)

#: Slices per process: more slices than processes keep all busy when rows are unevenly spread in time.
SLICES_PER_PROCESS = 4


_KINDS = frozenset({"next", "batch", "done", "error", "exit"})
_AFTER_FAILURE = ("what was committed stays staged; once the cause is fixed, a retry or the next run stages the rest "
                  "(unchanged documents are counted, never written twice)")


class StageProcessError(RuntimeError):
    """A staging process failed or died; what it committed stays staged, a retry stages the rest."""


def configured_processes() -> int:
    """``LEXOFFICE_STAGE_PROCESSES``: how many processes stage one window (1 = in the task's own process)."""
    raw = os.environ.get("LEXOFFICE_STAGE_PROCESSES", "1").strip()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"LEXOFFICE_STAGE_PROCESSES must be a whole number of processes (1 or more), "
                         f"got {raw!r}") from None
    if value < 1:
        raise ValueError(f"LEXOFFICE_STAGE_PROCESSES must be 1 or more, got {value}")
    return value


def supported(state_engine: sa.Engine, source_engine: sa.Engine) -> bool:
    """Whether both databases can be shared by several processes (client/server, not SQLite files)."""
    return state_engine.dialect.name == "postgresql" and source_engine.dialect.name == "postgresql"


class _Worker:
    """One child process, a thread that turns its output lines into messages, and its share of the counts."""

    def __init__(self, index: int, setup: dict[str, Any], messages: queue.Queue[tuple[int, dict[str, Any]]]):
        self.index, self.counts, self.finished = index, StageCounts(), False
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # import what we import
        self.process = subprocess.Popen([sys.executable, "-m", "lexoffice.parallel_stage"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=env)
        self.send(setup)
        threading.Thread(target=self._read, args=(self.process.stdout, messages), daemon=True,
                         name=f"stage-process-{index}").start()

    def send(self, message: Any) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except OSError:  # the process has ended: its "exit" message follows and says so
            pass

    def _read(self, stream: IO[str], messages: queue.Queue[tuple[int, dict[str, Any]]]) -> None:
        try:
            for line in stream:
                messages.put((self.index, json.loads(line)))
        except (ValueError, OSError) as exc:
            messages.put((self.index, {"kind": "error", "error": f"unreadable reply ({type(exc).__name__})"}))
        finally:
            messages.put((self.index, {"kind": "exit"}))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()  # PostgreSQL rolls back a batch in flight
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:  # a reply still buffered for a process that has ended
                    pass


def stage_window(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant_id: str, stream: str,
                 window: Window, run_id: str | None, processes: int,
                 on_batch: Callable[[StageCounts], None] | None = None) -> StageCounts:
    """Stage ``window`` with ``processes`` worker processes; the summed counts, ``on_batch`` after every batch."""
    slices = split(window, processes * SLICES_PER_PROCESS)
    engines = (state_engine, source_engine)
    scrub = SecretRegistry([e.url.password for e in engines if e.url.password]).scrub
    setup = {"state_url": state_engine.url.render_as_string(hide_password=False),
             "source_url": source_engine.url.render_as_string(hide_password=False),
             "tenant_id": tenant_id, "stream": stream, "run_id": run_id}
    messages: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()
    workers: list[_Worker] = []
    log.info("tenant %s %s: staging %s in %d processes, %d slices", tenant_id, stream, window,
             min(processes, len(slices)), len(slices))
    try:
        workers.extend(_Worker(i, setup, messages) for i in range(min(processes, len(slices))))
        pending = list(reversed(slices))
        while not all(w.finished for w in workers):
            index, message = messages.get()
            worker = workers[index]
            kind = message.get("kind") if isinstance(message, dict) else None
            if kind not in _KINDS:
                raise StageProcessError(f"staging process {index} wrote something that is not a reply ({kind!r}); "
                                        f"{_AFTER_FAILURE}")
            if kind == "next":
                part = pending.pop() if pending else None
                worker.send([part.start.isoformat(), part.end.isoformat()] if part else None)
            elif kind in ("batch", "done"):
                worker.counts = StageCounts(**message["counts"])
                worker.finished = kind == "done"
                if kind == "batch" and on_batch is not None:
                    on_batch(_total(workers))
            elif kind == "error":
                raise StageProcessError(f"staging process {index} failed: {scrub(str(message.get('error')))}; "
                                        f"{_AFTER_FAILURE}")
            elif kind == "exit" and not worker.finished:
                code = worker.process.wait()
                raise StageProcessError(f"staging process {index} ended (exit code {code}) before it was done; its "
                                        f"error output is in this task's log; {_AFTER_FAILURE}")
    finally:
        for worker in workers:
            try:
                worker.stop()
            except Exception:  # noqa: BLE001 - every other worker must still be stopped
                log.exception("could not stop staging process %d", worker.index)
    return _total(workers)


def _total(workers: list[_Worker]) -> StageCounts:
    total = StageCounts()
    for worker in workers:
        total.add(worker.counts)
    return total


def _work(requests: IO[str], replies: IO[str]) -> None:
    """The worker: stage slices until the parent has none left, reporting counts after every batch."""
    def reply(kind: str, **fields: Any) -> None:
        replies.write(json.dumps({"kind": kind, **fields}) + "\n")
        replies.flush()

    try:
        from lexoffice import pipeline
        from lexoffice.documents import Stream
        from lexoffice.state import tenants
        from lexoffice.state.db import make_engine

        setup = json.loads(requests.readline())
        state, source = make_engine(setup["state_url"]), make_engine(setup["source_url"])
        tenant = tenants.get_tenant(state, setup["tenant_id"])
        done = StageCounts()

        def batch(counts: StageCounts) -> None:
            running = StageCounts(**asdict(done))
            running.add(counts)
            reply("batch", counts=asdict(running))

        while True:
            reply("next")
            part = json.loads(requests.readline())
            if part is None:
                break
            window = Window(datetime.fromisoformat(part[0]), datetime.fromisoformat(part[1]))
            counts, _ = pipeline.stage_in_this_process(
                state_engine=state, source_engine=source, tenant=tenant, stream=Stream(setup["stream"]),
                window=window, source_ids=None, run_id=setup["run_id"], on_batch=batch)
            done.add(counts)
        reply("done", counts=asdict(done))
    except Exception as exc:  # reported to the parent, which fails the task with it
        reply("error", error=f"{type(exc).__name__}: {exc}")
        raise SystemExit(1) from None


def _exit_with_parent(parent: int, every: float = 1.0) -> None:
    """End this worker when the task process that started it is gone (killed at a timeout, say)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(3)  # a batch in flight is rolled back by PostgreSQL

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _replies_only_on_stdout() -> IO[str]:
    """A private copy of stdout for replies; everything else written to stdout (by Python or C) goes to stderr."""
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return replies


if __name__ == "__main__":
    _exit_with_parent(os.getppid())
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    _work(sys.stdin, _replies_only_on_stdout())
