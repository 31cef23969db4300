"""How big each measurement is. ``full`` is what the issues name; ``tiny`` exercises every code path quickly."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    #: delivery rate: drafts delivered to contacts that are already mapped, at each simulated round trip
    delivery_docs: int
    round_trips: tuple[float, ...]
    #: requests per draft: drafts per run for all-new and for all-known (adopted) customers
    request_count_docs: int
    #: tenants delivering at once, and drafts each
    parallel_tenants: int
    parallel_docs: int
    #: staging: the small and the large window (rows), and how often the small one is staged (median)
    stage_small: int
    stage_large: int
    stage_repeats: int
    #: DAG imports per file (the median is reported)
    parse_repeats: int
    #: status sync: sent drafts whose Lexware status the nightly sync reads back
    status_documents: int


#: the peers' way of pacing: a call starts at most every 0.65 s
FIXED_SLEEP_SECONDS = 0.65
#: the round trip at which the fixed-interval peer is compared with our limiter
PEER_ROUND_TRIP = 0.15
#: Lexware Office's limit per organisation
LEXWARE_RATE = 2.0

SCALES = {
    "full": Scale(
        name="full", delivery_docs=600, round_trips=(0.0, 0.15, 0.3), request_count_docs=120,
        parallel_tenants=8, parallel_docs=100, stage_small=100_000, stage_large=1_000_000, stage_repeats=3,
        parse_repeats=5, status_documents=1_000,
    ),
    "tiny": Scale(
        name="tiny", delivery_docs=6, round_trips=(0.0, 0.15), request_count_docs=6, parallel_tenants=2,
        parallel_docs=4, stage_small=1_000, stage_large=5_000, stage_repeats=1, parse_repeats=1,
        status_documents=300,
    ),
}
