"""Plain values derived from source rows: what content hashes and delivery order are computed from."""

from __future__ import annotations

import math
from datetime import date, datetime, timezone
from typing import Any

import pandas as pd


def sort_key(moment: datetime, doc_id: str) -> str:
    """Time then id, fixed-width UTC so that text order is time order."""
    return f"{moment.astimezone(timezone.utc).isoformat(timespec='microseconds')}|{doc_id}"


def jsonable(value: Any) -> Any:
    """Plain JSON values for hashing: NaN/NaT become None, numpy scalars Python ones."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return jsonable(value.item())
    return value
