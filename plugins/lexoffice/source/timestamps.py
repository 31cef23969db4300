"""One timestamp type for both source dialects, so window bounds compare correctly in WHERE clauses.

PostgreSQL stores ``timestamptz``. SQLite has no timestamp type; the contract is UTC text in SQLAlchemy's
SQLite format ('YYYY-MM-DD HH:MM:SS.ffffff'), whose text order is time order. This type converts every
bound value to UTC in that form and returns timezone-aware UTC datetimes on both dialects. On SQLite it
also binds a text unchanged: a keyset cursor read raw from a row whose time is no time at all (see
``extract.cursor_bound``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # what SQLAlchemy's SQLite DateTime writes


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, str) and dialect.name == "sqlite":
            return value
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("timestamps must be timezone-aware (naive datetimes are ambiguous)")
        if type(value) is not datetime:  # pandas.Timestamp and friends: hand the driver a plain datetime
            value = datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                             value.microsecond, tzinfo=value.tzinfo)
        utc = value.astimezone(timezone.utc)
        return utc.strftime(SQLITE_FORMAT) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def require_aware(name: str, value: datetime | None) -> None:
    """Refuse naive datetimes at the API boundary, where the mistake is still easy to find."""
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value.isoformat()}")
