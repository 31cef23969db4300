"""Lexware's search strings: HTML-entity encoded values and SQL-LIKE wildcards, matched case-insensitively.

The real API wants ``&``, ``<`` and ``>`` HTML-encoded (``&amp;``) *and then* URL-encoded, and silently finds
nothing when a client only URL-encodes them. The sandbox does the same, so that client bug shows up in tests.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

_BARE_SPECIAL = re.compile(r"&(?!#\d+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)|[<>]")


def decode_search_value(raw: str) -> str | None:
    """The value a client meant, or None when it contains a bare ``&``, ``<`` or ``>`` (matches nothing)."""
    if _BARE_SPECIAL.search(raw):
        return None
    return html.unescape(raw)


def like_matcher(pattern: str) -> Callable[[str], bool]:
    """Case-insensitive substring match; ``%`` any characters, ``_`` one character, ``\\`` escapes."""
    parts: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(next(chars, "\\")))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    regex = re.compile("".join(parts), re.IGNORECASE | re.DOTALL)
    return lambda text: regex.search(text) is not None
