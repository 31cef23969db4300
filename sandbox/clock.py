"""Lexware's time conventions in one place: Europe/Berlin server times and the strict datetime formats.

Lexware rejects anything but ``yyyy-MM-ddTHH:mm:ss.SSSXXX`` on sales vouchers, and the partner finance API uses
the same without milliseconds; parsing is strict on purpose so that client format bugs show up here, not in
production.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")

_VOUCHER_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})")
_FINANCE_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def now_berlin() -> datetime:
    return datetime.now(BERLIN)


def format_lexware(moment: datetime) -> str:
    """``2025-03-01T00:00:00.000+01:00``: milliseconds and an offset with a colon, in Europe/Berlin."""
    return moment.astimezone(BERLIN).isoformat(timespec="milliseconds")


def server_timestamp() -> str:
    return format_lexware(now_berlin())


def parse_voucher_datetime(value: object) -> datetime | None:
    """The datetime if ``value`` is exactly ``yyyy-MM-ddTHH:mm:ss.SSSXXX``, else None."""
    return _parse(value, _VOUCHER_DATETIME)


def parse_finance_datetime(value: object) -> datetime | None:
    """The datetime if ``value`` is exactly ``yyyy-MM-ddTHH:mm:ssXXX`` (partner finance API), else None."""
    return _parse(value, _FINANCE_DATETIME)


def parse_day(value: str) -> date | None:
    """A ``yyyy-MM-dd`` query parameter, or None when it is not one."""
    if not _DAY.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def berlin_day(timestamp: str) -> date:
    """The Europe/Berlin calendar day of a stored ISO timestamp (voucherlist filters are Berlin days)."""
    return datetime.fromisoformat(timestamp).astimezone(BERLIN).date()


def _parse(value: object, pattern: re.Pattern[str]) -> datetime | None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
