"""Staging runs with fewer garbage-collector passes, and leaves the process's settings as it found them."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from lexoffice.staging.gc_thresholds import STAGING_THRESHOLDS, bulk_allocation


@pytest.fixture(autouse=True)
def defaults() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_thresholds_are_raised_inside_and_restored_after() -> None:
    with bulk_allocation():
        assert gc.get_threshold() == STAGING_THRESHOLDS
        assert gc.isenabled()  # cycles are still collected, only less often
    assert gc.get_threshold() == (700, 10, 10)


def test_restored_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError):
        with bulk_allocation():
            raise RuntimeError("source went away")
    assert gc.get_threshold() == (700, 10, 10)


def test_higher_settings_of_the_process_are_kept() -> None:
    gc.set_threshold(50_000, 5, 20)
    with bulk_allocation():
        assert gc.get_threshold() == (50_000, 10, 20)
    assert gc.get_threshold() == (50_000, 5, 20)
