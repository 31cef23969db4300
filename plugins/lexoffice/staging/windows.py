"""Window arithmetic, in one place: which source rows a run reads.

A scheduled run reads its data interval ``[data_interval_start, data_interval_end)``. A manual run without an
interval (``airflow dags trigger`` without a logical date) reads the ``from_date``/``to_date`` params, and with
neither, everything since the tenant's ``export_since``. Every window is clamped below by ``export_since``, which
a tenant can only move forward; a window entirely before it is skipped.

A scheduled run also re-reads a look-back overlap before its interval (``LEXOFFICE_LOOKBACK_DAYS``, default 3):
a source row can commit after the night's read (a card payment completed at 03:20, written at 03:45), and
without the overlap no later night would read it. Staging is idempotent, so reading a row again costs a
comparison, never a second send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pendulum

from lexoffice.settings import number_from_env

BERLIN = pendulum.timezone("Europe/Berlin")
LOOKBACK_ENV = "LEXOFFICE_LOOKBACK_DAYS"
DEFAULT_LOOKBACK = timedelta(days=3)


class WindowError(ValueError):
    """The requested window is malformed (names the param and what to do)."""


@dataclass(frozen=True)
class Window:
    """A half-open time range ``[start, end)`` in UTC."""

    start: datetime
    end: datetime
    clamped: bool = False
    lookback: timedelta = timedelta(0)

    def __str__(self) -> str:
        fmt = "%Y-%m-%d %H:%M %Z"
        note = " (clamped by export_since)" if self.clamped else ""
        if self.lookback and not self.clamped:
            note += f" (incl. {_days(self.lookback)} look-back)"
        return f"[{self.start.astimezone(BERLIN).strftime(fmt)}, {self.end.astimezone(BERLIN).strftime(fmt)}){note}"


def day_start(day: date) -> datetime:
    """Midnight in Europe/Berlin of ``day``, as a UTC datetime."""
    return pendulum.datetime(day.year, day.month, day.day, tz=BERLIN).in_timezone("UTC")


def before_export_since(dated: date | datetime, export_since: date | None) -> bool:
    """THE rule "nothing dated before export_since is sent": a day compares with the day, a moment (a
    transaction's completion time) with midnight of export_since in Europe/Berlin."""
    if export_since is None:
        return False
    if isinstance(dated, datetime):
        return dated < day_start(export_since)
    return dated < export_since


def parse_day(value: str, param: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise WindowError(f"param {param!r}: {value!r} is not a date; use YYYY-MM-DD, e.g. 2025-03-01") from exc


def requested_window(
    *,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    from_date: str | None,
    to_date: str | None,
    now: datetime,
    lookback: timedelta = timedelta(0),
) -> Window | None:
    """The window a run asks for before clamping; ``None`` means "everything since export_since".

    Explicit ``from_date``/``to_date`` params win over the data interval, so a manual trigger from the UI (which
    always has an interval) can still choose its dates. ``to_date`` is inclusive: the whole day is read.
    A data interval starts ``lookback`` earlier (late commits); explicit dates are read exactly as given.
    """
    if from_date or to_date:
        start = day_start(parse_day(from_date, "from_date")) if from_date else None
        end = day_start(parse_day(to_date, "to_date") + timedelta(days=1)) if to_date else _utc(now)
        if start is None:
            raise WindowError("param 'from_date' is required when 'to_date' is given; use YYYY-MM-DD")
        if end <= start:
            raise WindowError(f"param 'to_date' ({to_date}) is before 'from_date' ({from_date}); swap them")
        return Window(start, end)
    if data_interval_start is not None and data_interval_end is not None and data_interval_end > data_interval_start:
        return Window(_utc(data_interval_start) - lookback, _utc(data_interval_end), lookback=lookback)
    return None


def lookback_from_env() -> timedelta:
    """The nightly look-back overlap from ``LEXOFFICE_LOOKBACK_DAYS`` (days, may be fractional; 0 turns it off)."""
    try:
        days = number_from_env(LOOKBACK_ENV, DEFAULT_LOOKBACK.total_seconds() / 86400, unit="days",
                               example="3, or 0 to turn it off", zero_allowed=True, maximum=366)
    except ValueError as err:
        raise WindowError(str(err)) from None
    return timedelta(days=days)


def _days(span: timedelta) -> str:
    days = span.total_seconds() / 86_400
    return f"{days:g} day" + ("" if days == 1 else "s")


def clamp(window: Window | None, export_since: date | None, *, now: datetime) -> Window | None:
    """Clamp ``window`` below by ``export_since``; ``None`` when nothing of it lies on or after that date."""
    floor = day_start(export_since) if export_since else None
    if window is None:
        if floor is None:
            raise WindowError("the tenant has no export_since date and the run has no window; connect the tenant first")
        return Window(floor, _utc(now), clamped=True) if _utc(now) > floor else None
    if floor is None or window.start >= floor:
        return window
    if window.end <= floor:
        return None
    return Window(floor, window.end, clamped=True)


def split(window: Window, parts: int) -> list[Window]:
    """``window`` cut into ``parts`` contiguous half-open windows of equal length (fewer if it is shorter
    than ``parts`` microseconds), so every row of ``window`` lies in exactly one of them."""
    if parts < 1:
        raise ValueError(f"parts must be at least 1, got {parts}")
    span = window.end - window.start  # a pendulum Interval for pendulum times: plain integers below
    micros = (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds
    parts = max(1, min(parts, micros))
    cuts = [window.start + timedelta(microseconds=micros * i // parts) for i in range(parts)] + [window.end]
    return [Window(a, b, clamped=window.clamped) for a, b in zip(cuts, cuts[1:]) if b > a]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise WindowError(f"naive datetime {value!r}; windows need timezone-aware times")
    return pendulum.instance(value).in_timezone("UTC")
