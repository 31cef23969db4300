"""The staging benchmark's memory sampler: a run shorter than one sampling interval still has a peak."""

from __future__ import annotations

import os

from bench.staging import Sampler


def test_a_sampler_stopped_at_once_has_sampled_the_process() -> None:
    """CI once staged 1,000 transactions inside the first 0.1 s and the memory row failed with no sample."""
    sampler = Sampler(os.getpid(), postmaster=None, databases=[])
    sampler.start()
    sampler.stop()
    assert sampler.samples >= 1
    assert sampler.python_peak > 0
