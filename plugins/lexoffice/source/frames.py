"""Typed DataFrames for the source contract: what extraction produces and validation expects.

Both dialects return slightly different Python values (PostgreSQL: ``Decimal``, ``date``, ``bool``;
SQLite: ``float``, ``str``, ``0/1``). ``prepare_*`` turns either, or a frame read some other way (the
benchmark uses ``pandas.read_sql``), into one shape:

* text      pandas ``str`` dtype, NaN when missing
* numbers   float64 (NaN when missing or not a number, ±inf for Infinity), plus ``<column>_text``
            holding the source's own digits: decimal places and NaN/Infinity are judged on that text,
            because a float cannot tell 1.23 from a NUMERIC 1.230000000000000001
* dates     datetime64 at midnight, NaT when missing or unparsable, plus ``<column>_text`` holding the
            raw text so a person sees what was wrong
* stamps    datetime64 UTC, NaT when missing or unparsable, plus ``<column>_unparsed``: the source
            value where one was given but is no time (NaN elsewhere), so validation can name it
* booleans  bool; NULL counts as false

Preparing twice is a no-op, so callers need not know whether a frame was prepared already.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

@dataclass(frozen=True)
class FrameSpec:
    """Column names and kinds of one source frame."""

    name: str
    columns: tuple[str, ...]
    numbers: tuple[str, ...] = ()
    integers: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    timestamps: tuple[str, ...] = ()
    booleans: tuple[str, ...] = ()

    @property
    def texts(self) -> tuple[str, ...]:
        typed = {*self.numbers, *self.integers, *self.dates, *self.timestamps, *self.booleans}
        return tuple(c for c in self.columns if c not in typed)


DRAFTS = FrameSpec(
    name="invoice drafts",
    columns=(
        "id", "company_id", "customer_id", "number", "origin", "work_order_id", "contract_id",
        "work_order_number", "contract_number", "voucher_date", "title", "introduction", "remark", "currency",
        "tax_type", "service_date", "service_period_start", "service_period_end", "created_at", "updated_at",
        "event_at", "company_name", "company_street", "company_zip", "company_city", "company_country_code",
        "company_tax_number", "company_vat_id", "company_accounting_licensed", "company_accounting_software",
        "customer_found_id", "customer_kind", "customer_company_name", "customer_salutation",
        "customer_first_name", "customer_last_name", "customer_street", "customer_zip", "customer_city",
        "customer_country_code", "customer_email", "customer_vat_id",
    ),
    dates=("voucher_date", "service_date", "service_period_start", "service_period_end"),
    timestamps=("created_at", "updated_at", "event_at"),
    booleans=("company_accounting_licensed",),
)

LINES = FrameSpec(
    name="invoice draft lines",
    columns=(
        "id", "draft_id", "position", "type", "name", "description", "quantity", "unit_name", "unit_price",
        "price_kind", "tax_rate", "discount_percentage",
    ),
    numbers=("quantity", "unit_price", "tax_rate", "discount_percentage"),
    integers=("position",),
)

TRANSACTIONS = FrameSpec(
    name="transactions",
    columns=(
        "id", "account_id", "kind", "status", "amount", "currency", "booking_date", "value_date", "completed_at",
        "counterparty_name", "counterparty_iban", "purpose", "updated_at", "company_id", "company_name",
        "account_iban", "account_name", "account_bank_name", "account_currency", "account_is_own", "account_kind",
    ),
    numbers=("amount",),
    dates=("booking_date", "value_date"),
    timestamps=("completed_at", "updated_at"),
    booleans=("account_is_own",),
)


def from_columns(spec: FrameSpec, names: Sequence[str], values: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """A prepared frame from raw result tuples (``extract.Rows``): one column at a time, no row objects."""
    return from_column_values(spec, transpose(names, values))


def transpose(names: Sequence[str], values: Sequence[Sequence[Any]]) -> dict[str, Sequence[Any]]:
    """Result tuples as one sequence of values per column name."""
    return dict(zip(names, zip(*values), strict=False)) if values else {n: () for n in names}


def from_column_values(spec: FrameSpec, by_name: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """A prepared frame from raw values per column (columns the spec does not name are left out)."""
    frame = pd.DataFrame({c: pd.Series(by_name[c], dtype=object) for c in spec.columns if c in by_name},
                         columns=[c for c in spec.columns if c in by_name])
    return prepare(spec, frame)


def prepare(spec: FrameSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce ``frame`` to the contract's types (see module docstring); returns a new frame."""
    if _is_prepared(spec, frame):
        return frame
    frame = frame.copy()
    if spec is DRAFTS and "event_at" not in frame.columns and {"created_at", "updated_at"} <= set(frame.columns):
        frame["event_at"] = frame["updated_at"].where(frame["updated_at"].notna(), frame["created_at"])
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{spec.name} frame lacks columns: {', '.join(missing)}")
    for column in spec.texts:
        frame[column] = _as_text(frame[column])
    for column in spec.numbers:
        frame[f"{column}_text"] = _as_text(frame[column])
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in spec.integers:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0).astype("int64")
    for column in spec.booleans:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0).astype(bool)
    for column in spec.timestamps:
        raw = frame[column]
        frame[column] = parsed = pd.to_datetime(raw, utc=True, errors="coerce", format="mixed")
        frame[f"{column}_unparsed"] = _as_text(raw.where(parsed.isna() & raw.notna()))
    for column in spec.dates:
        text = _as_text(frame[column])
        frame[f"{column}_text"] = text
        frame[column] = pd.to_datetime(text.str.strip(), format="%Y-%m-%d", errors="coerce")
    return frame.reset_index(drop=True)


def _is_prepared(spec: FrameSpec, frame: pd.DataFrame) -> bool:
    """Recognised by dtypes (not ``attrs``: pandas deep-copies those on every operation)."""
    dtypes = frame.dtypes
    try:
        return (
            isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1
            and all(dtypes[c] == "str" for c in spec.texts)
            and all(dtypes[c] == "float64" and dtypes[f"{c}_text"] == "str" for c in spec.numbers)
            and all(dtypes[c] == "int64" for c in spec.integers)
            and all(dtypes[c] == "bool" for c in spec.booleans)
            and all(isinstance(dtypes[c], pd.DatetimeTZDtype) and dtypes[f"{c}_unparsed"] == "str"
                    for c in spec.timestamps)
            and all(dtypes[c].kind == "M" and dtypes[f"{c}_text"] == "str" for c in spec.dates)
        )
    except KeyError:
        return False


def _as_text(series: pd.Series) -> pd.Series:
    if series.dtype == "str":
        return series
    return series.astype("str")


def prepare_drafts(frame: pd.DataFrame) -> pd.DataFrame:
    return prepare(DRAFTS, frame)


def prepare_lines(frame: pd.DataFrame) -> pd.DataFrame:
    return prepare(LINES, frame)


def prepare_transactions(frame: pd.DataFrame) -> pd.DataFrame:
    return prepare(TRANSACTIONS, frame)
