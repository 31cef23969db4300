"""Overlapping database waits with Python work: one page read ahead, one batch written behind.

Staging a large window spends much of its time waiting for a database: the source sorting and sending the
next page, the state database ingesting the last batch. A helper thread does that waiting (the GIL is
released while a driver waits on its socket) while the caller validates and builds documents, so on a
machine with two cores the database and Python work at the same time. At most one item is read ahead or
waits to be written, so memory stays at two pages whatever the window holds.

Only for client/server databases: an SQLite connection lives in the thread that opened it (in-memory
databases are even private to it), and SQLite works inside this process anyway.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import sqlalchemy as sa

T = TypeVar("T")

_DONE = object()
_POLL_SECONDS = 0.1
_JOIN_SECONDS = 600.0  # a batch in flight is finished (committed or rolled back) before the caller goes on


def worth_a_thread(engine: sa.Engine) -> bool:
    """Whether waiting on ``engine`` is worth overlapping (and safe to do from another thread).

    ``LEXOFFICE_BACKGROUND_THREADS=0`` turns the helper threads off (for profiling, or to rule them out).
    """
    return engine.dialect.name != "sqlite" and os.environ.get("LEXOFFICE_BACKGROUND_THREADS", "1") != "0"


def _put(handoff: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            handoff.put(item, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


def read_ahead(items: Iterator[T], *, name: str = "read-ahead") -> Iterator[T]:
    """Yield ``items`` while a thread already produces the next one (and only that one).

    The producer starts on item k+1 once the caller has taken item k, so at most two items exist at a
    time. An error in the producer is raised here; stopping early (or an error here) stops the producer
    and closes its generator, so its connection is returned.
    """
    handoff: queue.Queue[Any] = queue.Queue(maxsize=1)
    taken = threading.Semaphore(0)
    stop = threading.Event()

    def wait_until_taken() -> bool:
        while not stop.is_set():
            if taken.acquire(timeout=_POLL_SECONDS):
                return True
        return False

    def produce() -> None:
        try:
            for item in items:
                if not _put(handoff, (item, None), stop) or not wait_until_taken():
                    return
            _put(handoff, (_DONE, None), stop)
        except BaseException as exc:  # handed to the consumer, which raises it
            _put(handoff, (_DONE, exc), stop)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    producer = threading.Thread(target=produce, name=name, daemon=True)
    producer.start()
    try:
        while True:
            item, error = handoff.get()
            taken.release()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        producer.join(timeout=_JOIN_SECONDS)


def write_behind(items: Iterable[T], consume: Callable[[T], None], *, name: str = "write-behind") -> None:
    """Call ``consume`` for every item in a thread while this thread produces the next item.

    Items are consumed one at a time, in order. The first error of ``consume`` is raised here and no later
    item is consumed; an error while producing lets the item in flight finish, then is raised.
    """
    handoff: queue.Queue[Any] = queue.Queue(maxsize=1)
    failure: list[BaseException] = []
    stop = threading.Event()

    def run() -> None:
        while True:
            try:
                item = handoff.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if stop.is_set():
                    return
                continue
            if item is _DONE:
                return
            try:
                consume(item)
            except BaseException as exc:
                failure.append(exc)
                stop.set()
                return

    consumer = threading.Thread(target=run, name=name, daemon=True)
    consumer.start()
    try:
        for item in items:
            if failure or not _put(handoff, item, stop):
                break
        else:
            _put(handoff, _DONE, stop)
    finally:
        stop.set()
        consumer.join(timeout=_JOIN_SECONDS)
    if failure:
        raise failure[0]
