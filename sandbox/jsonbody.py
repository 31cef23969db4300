"""Request bodies as exact decimals and responses as plain JSON.

Lexware limits unit prices to 4 decimals and amounts to 2; checking that on binary floats would accept or
reject the wrong values, so numbers are parsed as ``Decimal`` and only turned back into JSON numbers on output.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi import Request

from sandbox.errors import ApiError, regular_error


async def read_json(request: Request, malformed: Callable[[], ApiError]) -> Any:
    """The JSON body with floats as Decimal; 415 without a JSON content type (as Lexware), ``malformed()`` else."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise regular_error(415, request.url.path, "Content type must be application/json")
    raw = await request.body()
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        raise malformed() from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def plain(value: Any) -> Any:
    """``value`` with every Decimal turned into an int or float, ready for json.dumps."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def is_number(value: Any) -> bool:
    """JSON numbers only: ``true`` is an int in Python but not a number in JSON."""
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def decimal_places(value: Decimal | int) -> int:
    if isinstance(value, int):
        return 0
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0
