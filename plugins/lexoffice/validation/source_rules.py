"""Rules about the source row itself, shared by both streams: ids short enough to store and send, and times
that are times. They come first in a document's reasons (catalogue order: ``reasons.SHARED_REASONS``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lexoffice import payloads
from lexoffice.validation import checks
from lexoffice.validation import reasons as r
from lexoffice.validation.findings import Collector
from lexoffice.validation.reasons import Label


def add_source_rules(frame: pd.DataFrame, out: Collector, *, ids: Sequence[tuple[str, str]],
                     stamps: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
    """``SOURCE_ID_TOO_LONG`` for each (column, field) of ``ids`` and ``SOURCE_TIMESTAMP_INVALID`` for each
    (column, label key) of ``stamps``; returns, per stamp column, which rows hold a value that is no time."""
    for order, (column, field) in enumerate(ids):
        lengths = checks.text_length(frame[column])
        values = frame[column].to_numpy(dtype=object)
        out.add(r.SOURCE_ID_TOO_LONG, lengths > payloads.MAX_SOURCE_ID, field=field, field_order=order,
                params=lambda row, values=values, lengths=lengths: {
                    "value": values[row], "length": lengths[row], "limit": payloads.MAX_SOURCE_ID})
    unparsed = {}
    for order, (column, key) in enumerate(stamps):
        unparsed[column] = checks.present(frame[f"{column}_unparsed"])
        raw = frame[f"{column}_unparsed"].to_numpy(dtype=object)
        out.add(r.SOURCE_TIMESTAMP_INVALID, unparsed[column], field=column, field_order=order,
                params=lambda row, raw=raw, key=key: {"which": Label(key), "value": raw[row]})
    return unparsed
