"""Whole-column versions of the per-row value helpers, for building a page of documents at once.

Staging a million rows cannot afford a Python function call per field (``payloads.text``, ``jsonable``,
``json.dumps`` …). These helpers turn a prepared column (``lexoffice.source.frames``) into a plain list in
one pass, with exactly the result the per-row helpers give; ``tests/support/oracles/reference_rows.py`` keeps the
per-row definition and tests/source/test_columnar_builders.py checks that both agree on every value.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from lexoffice import payloads

_encode_text: Callable[[str], str] = json.encoder.encode_basestring  # type: ignore[attr-defined]  # C version
_WHITESPACE = re.compile(r"\s+")
_BERLIN = "Europe/Berlin"

#: The time of a row whose source holds no time at all: it is still recorded (with validation's reason).
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# --- plain values ------------------------------------------------------------------------------------------

#: Values looked at to guess whether a column repeats enough for ``per_distinct`` to factorize it.
_SAMPLE = 256


def per_distinct(series: pd.Series, fn: Callable[[Any], Any], missing: Any) -> list[Any]:
    """``fn`` of every value, ``missing`` for NaN/NaT; ``fn`` runs once per distinct value where values repeat.

    Source columns repeat a lot (company, account, currency, kind, status): those are factorized in C and
    ``fn`` runs once per distinct value. Columns of mostly distinct values (ids, purposes) are mapped
    directly, where a hash table would cost more than the calls it saves.
    """
    sample = series.iloc[:_SAMPLE].tolist()
    if len(set(sample)) > len(sample) // 4:
        return [fn(v) if v == v else missing for v in series.tolist()]  # v != v: NaN / NaT
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [fn(u) for u in uniques.tolist()]
    mapped[-1] = missing
    return mapped[codes].tolist()  # code -1 (missing) picks the last entry


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) and v and not v.isspace() else None


def texts(series: pd.Series) -> list[str | None]:
    """``payloads.text`` of every value: the text, or None when missing or blank."""
    return per_distinct(series, _text, None)


def multilines(values: Sequence[str | None]) -> list[str | None]:
    """``payloads.multiline`` of every (already ``texts``-cleaned) value."""
    return [v.replace("\r\n", "\n").replace("\r", "\n") if v is not None and "\r" in v else v for v in values]


def printables(values: Sequence[str | None]) -> list[str | None]:
    """``payloads.printable`` of every value; one scan of the whole column first (almost always clean)."""
    if not payloads.has_control_characters("".join(v for v in values if v is not None)):
        return list(values)
    return [payloads.printable(v) for v in values]


def compacts(values: Sequence[str | None]) -> list[str | None]:
    """``payloads.compact`` of every (already ``texts``-cleaned) value, computed once per distinct value."""
    cache: dict[str | None, str | None] = {None: None}
    out = []
    for v in values:
        c = cache.get(v, cache)
        if c is cache:
            c = cache[v] = _WHITESPACE.sub("", v).upper()  # type: ignore[arg-type]
        out.append(c)
    return out


def numbers(series: pd.Series) -> list[int | float | None]:
    """``payloads.number`` of every value of a float column."""
    return [None if v != v else (int(v) if v.is_integer() and abs(v) < 2**53 else v) for v in series.tolist()]


def dates(series: pd.Series) -> list[date | None]:
    """Calendar dates of a prepared date column (midnight timestamps); None for NaT."""
    values = series.to_numpy(dtype="datetime64[D]")
    out = values.astype(object)
    out[np.isnat(values)] = None
    return out.tolist()


# --- Lexware date formats ----------------------------------------------------------------------------------

def _iso_seconds_and_offsets(series: pd.Series, zone: str) -> tuple[np.ndarray, list[str]]:
    """Local wall time in ``zone`` as 'YYYY-MM-DDTHH:MM:SS.ffffff' text and its UTC offset as '+HH:MM'."""
    aware = series.dt.tz_convert(zone)
    local = aware.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    utc = series.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    offsets = ((local - utc) // np.timedelta64(1, "m")).astype(np.int64)
    text = np.datetime_as_string(local, unit="us")
    return text, per_distinct(pd.Series(offsets), _offset, None)


def _offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def finance_datetimes(series: pd.Series) -> list[str | None]:
    """``payloads.finance_datetime`` of every value of a UTC timestamp column; None for NaT."""
    mask = series.isna().to_numpy().tolist()
    if all(mask):
        return [None] * len(mask)
    filled = series.fillna(pd.Timestamp(0, tz="UTC"))
    text, offsets = _iso_seconds_and_offsets(filled, _BERLIN)
    return [None if missing else t[:19] + o for t, o, missing in zip(text.tolist(), offsets, mask, strict=True)]


def day_formatter(fmt: Callable[[date], str]) -> Callable[[date | None], str | None]:
    """A per-date formatter that computes each distinct calendar date once (a page spans few days)."""
    cache: dict[date | None, str | None] = {None: None}

    def formatted(value: date | None) -> str | None:
        found = cache.get(value, cache)
        if found is cache:
            found = cache[value] = fmt(value)  # type: ignore[arg-type]
        return found  # type: ignore[return-value]

    return formatted


def iso_utc_microseconds(series: pd.Series) -> list[str]:
    """``datetime.isoformat(timespec='microseconds')`` in UTC of a column without NaT."""
    text = np.datetime_as_string(series.dt.tz_localize(None).to_numpy(dtype="datetime64[us]"), unit="us")
    return [t + "+00:00" for t in text.tolist()]


# --- content hashes ----------------------------------------------------------------------------------------

def json_texts(series: pd.Series) -> list[str]:
    """JSON of every value of a text column (NaN -> null), as ``json.dumps(jsonable(v))`` writes it."""
    return per_distinct(series, lambda v: _encode_text(v) if isinstance(v, str) else json.dumps(v), "null")


def json_numbers(series: pd.Series) -> list[str]:
    """JSON of every value of a float column (NaN -> null)."""
    return per_distinct(series, json.dumps, "null")


def json_integers(series: pd.Series) -> list[str]:
    return [str(v) for v in series.tolist()]


def json_booleans(series: pd.Series) -> list[str]:
    return ["true" if v else "false" for v in series.tolist()]


def json_timestamps(series: pd.Series) -> list[str]:
    """JSON of ``pandas.Timestamp.isoformat()`` of every value of a UTC column (NaT -> null)."""
    mask = series.isna().to_numpy().tolist()
    naive = series.dt.tz_localize(None)
    nanos = naive.dt.unit == "ns"
    values = naive.to_numpy(dtype="datetime64[ns]" if nanos else "datetime64[us]")
    out = []
    for text, missing in zip(np.datetime_as_string(values).tolist(), mask, strict=True):
        if missing:
            out.append("null")
            continue
        stem, _, fraction = text.partition(".")
        if fraction.strip("0") == "":
            text = stem
        elif nanos and fraction.endswith("000"):
            text = f"{stem}.{fraction[:6]}"
        out.append(f'"{text}+00:00"')
    return out


def json_column(series: pd.Series) -> list[str]:
    """JSON fragments of a prepared column, picked by its dtype."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return json_timestamps(series)
    if series.dtype == "bool":
        return json_booleans(series)
    if series.dtype == "float64":
        return json_numbers(series)
    if series.dtype == "int64":
        return json_integers(series)
    return json_texts(series)


def json_object_template(keys: Sequence[str]) -> str:
    """A ``%s`` template for a JSON object with ``keys`` in ``json.dumps(sort_keys=True)`` order."""
    return "{" + ",".join(f"{_encode_text(k)}:%s" for k in sorted(keys)) + "}"


def json_objects(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """``json.dumps({c: jsonable(row[c]) …}, sort_keys=True, separators=(",", ":"))`` for every row."""
    template = json_object_template(columns)
    parts = [json_column(frame[c]) for c in sorted(columns)]
    if not parts:
        return [template] * len(frame)
    return [template % values for values in zip(*parts, strict=True)]


def sha256_hex(texts_: Sequence[str]) -> list[str]:
    sha256 = hashlib.sha256
    return [sha256(t.encode("utf-8")).hexdigest() for t in texts_]


def is_before(series: pd.Series, moment: datetime | None) -> list[bool]:
    """Per value: present and earlier than ``moment`` (never true when ``moment`` is None)."""
    if moment is None:
        return [False] * len(series)
    since = pd.Timestamp(moment).tz_convert(timezone.utc)
    return (series.notna() & (series < since)).to_numpy(dtype=bool).tolist()


__all__ = [
    "compacts", "dates", "day_formatter", "finance_datetimes", "is_before", "iso_utc_microseconds", "json_column",
    "json_objects", "json_object_template", "json_texts", "multilines", "numbers", "per_distinct", "sha256_hex",
    "texts",
]
