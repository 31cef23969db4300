"""How big each measurement is. ``full`` is what issue #7 names; ``tiny`` exercises every code path in seconds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    #: item 1 and the fixed-sleep baseline: drafts delivered to contacts that are already mapped
    delivery_docs: int
    #: item 2: drafts per run for all-new and for all-known (adopted) customers
    request_count_docs: int
    #: item 5: tenants delivering at once, and drafts each
    parallel_tenants: int
    parallel_docs: int
    #: item 3: invoice lines and transactions staged per run (each size in its own process)
    stage_sizes: tuple[int, ...]
    #: the largest size is built from a generated base replicated this many times in SQL
    stage_replicas: int
    #: item 4: DAG imports per file (the median is reported)
    parse_repeats: int
    #: item 6: validation baseline data and repeats
    validation_drafts: int
    validation_transactions: int
    validation_repeats: int
    #: rows staged under cProfile to show where staging time goes
    profile_rows: int
    #: the whole run must end within this (staging gets what the other parts leave)
    budget_seconds: float
    #: run the CPU-bound parts side by side (only where the figures do not matter: tiny)
    overlap: bool = False
    #: row 8: sent drafts whose Lexware status the nightly sync reads back
    status_documents: int = 1_000


#: the baseline peers use: a fixed pause between two calls
FIXED_SLEEP_SECONDS = 0.65
#: Lexware Office's limit per organisation
LEXWARE_RATE = 2.0

SCALES = {
    "full": Scale(
        name="full", delivery_docs=600, request_count_docs=120, parallel_tenants=8, parallel_docs=100,
        stage_sizes=(100_000, 300_000, 1_000_000), stage_replicas=20, parse_repeats=5,
        validation_drafts=10_000, validation_transactions=25_000, validation_repeats=3,
        profile_rows=10_000, budget_seconds=14 * 60,
    ),
    "tiny": Scale(
        name="tiny", delivery_docs=6, request_count_docs=6, parallel_tenants=2, parallel_docs=4,
        stage_sizes=(1_000, 3_000, 10_000), stage_replicas=2, parse_repeats=1,
        validation_drafts=300, validation_transactions=1_000, validation_repeats=1,
        profile_rows=1_000, budget_seconds=600, overlap=True,
        status_documents=300,
    ),
}
