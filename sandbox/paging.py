"""Lexware's paging: 0-based ``page``, ``size`` (default 25, at most 250), and the Spring-style envelope."""

from __future__ import annotations

import math
from typing import Any

DEFAULT_SIZE = 25
MAX_SIZE = 250


class PagingError(ValueError):
    """A bad ``page`` or ``size``; each endpoint reports it in its own error format."""


def page_params(page: str | None, size: str | None, max_size: int = MAX_SIZE) -> tuple[int, int]:
    number = _non_negative_int(page, "page", default=0)
    per_page = _non_negative_int(size, "size", default=DEFAULT_SIZE)
    if not 1 <= per_page <= max_size:
        raise PagingError(f"size must be between 1 and {max_size}")
    return number, per_page


def envelope(items: list[Any], page: int, size: int, sort: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    total = len(items)
    content = items[page * size:(page + 1) * size]
    total_pages = math.ceil(total / size) if total else 0
    body: dict[str, Any] = {
        "content": content,
        "first": page == 0,
        "last": page >= total_pages - 1,
        "totalPages": total_pages,
        "totalElements": total,
        "numberOfElements": len(content),
        "size": size,
        "number": page,
    }
    if sort is not None:
        body["sort"] = sort
    return body


def sort_entry(field: str, ascending: bool) -> dict[str, Any]:
    return {"direction": "ASC" if ascending else "DESC", "property": field, "ignoreCase": False,
            "nullHandling": "NATIVE", "ascending": ascending, "descending": not ascending}


def _non_negative_int(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise PagingError(f"{name} must be a number") from None
    if number < 0:
        raise PagingError(f"{name} must not be negative")
    return number
