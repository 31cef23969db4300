"""read_ahead and write_behind: order, bounded look-ahead, errors on both sides, early stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from lexoffice.staging.background import read_ahead, write_behind
from tests.support.waiting import GENEROUS


def _counting(n: int, produced: list[int], fail_at: int | None = None) -> Iterator[int]:
    for i in range(n):
        if i == fail_at:
            raise RuntimeError(f"source failed at page {i}")
        produced.append(i)
        yield i


def test_read_ahead_keeps_order_and_reads_only_one_item_ahead() -> None:
    produced: list[int] = []
    pages = read_ahead(_counting(10, produced))
    assert next(pages) == 0
    time.sleep(0.3)  # an unbounded reader would have read everything by now
    assert produced == [0, 1]
    assert [0, *pages] == list(range(10))


def test_read_ahead_runs_the_producer_in_another_thread() -> None:
    threads: list[str] = []

    def source() -> Iterator[int]:
        for i in range(3):
            threads.append(threading.current_thread().name)
            yield i

    assert list(read_ahead(source(), name="pages")) == [0, 1, 2]
    assert threads == ["pages"] * 3


def test_read_ahead_raises_the_producers_error_after_the_good_items() -> None:
    produced: list[int] = []
    got: list[int] = []
    with pytest.raises(RuntimeError, match="page 3"):
        for item in read_ahead(_counting(10, produced, fail_at=3)):
            got.append(item)
    assert got == [0, 1, 2]


def test_stopping_early_closes_the_producer() -> None:
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            closed.set()

    pages = read_ahead(source())
    assert next(pages) == 0
    pages.close()
    assert closed.wait(GENEROUS)


def test_write_behind_consumes_in_order_in_another_thread() -> None:
    consumed: list[tuple[int, str]] = []
    write_behind(range(20), lambda i: consumed.append((i, threading.current_thread().name)), name="writer")
    assert consumed == [(i, "writer") for i in range(20)]


def test_write_behind_overlaps_producing_and_consuming() -> None:
    """Consuming item i waits until the producer has started on item i + 1: serial code would deadlock here
    (and fail after the generous wait); overlapping code goes straight through. No wall-clock bound (issue 15)."""
    producing = [threading.Event() for _ in range(6)]

    def items() -> Iterator[int]:
        for i in range(5):
            producing[i].set()
            yield i
        producing[5].set()

    def consume(i: int) -> None:
        assert producing[i + 1].wait(timeout=GENEROUS), f"item {i + 1} was not produced while {i} was consumed"

    write_behind(items(), consume)
    assert all(event.is_set() for event in producing)


def test_write_behind_raises_the_first_consumer_error_and_consumes_nothing_after_it() -> None:
    consumed: list[int] = []

    def consume(i: int) -> None:
        if i == 2:
            raise ValueError("batch 2 refused")
        consumed.append(i)

    with pytest.raises(ValueError, match="batch 2"):
        write_behind(range(10), consume)
    assert consumed == [0, 1]


def test_a_producer_error_lets_the_batch_in_flight_finish() -> None:
    finished: list[int] = []

    def consume(i: int) -> None:
        time.sleep(0.2)
        finished.append(i)

    with pytest.raises(RuntimeError, match="page 2"):
        write_behind(_counting(5, [], fail_at=2), consume)
    assert finished[:1] == [0] and set(finished) <= {0, 1}  # no batch was cut off half-way
