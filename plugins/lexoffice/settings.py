"""Settings the operator writes as text (environment variables, connection extras): one reading each, one kind
of error message.

A bad value names the variable, what was given and an example, so the task log tells the operator what to fix.
"""

from __future__ import annotations

import os
from typing import Any

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", "", "none"}


def as_bool(value: Any) -> bool:
    """A yes/no setting: ``True`` for a bool True or the text 1/true/yes/on (any case); anything else is no."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE if value is not None else False


def strict_bool(value: Any, *, name: str) -> bool:
    """A yes/no choice a person made (a trigger param): unset is no, the words of :func:`as_bool` and their
    opposites are read, anything else is a ValueError naming ``name`` (a typo must not silently mean "no")."""
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"'{name}' must be true or false, got {value!r}")


def number_from_env(env: str, default: float, *, unit: str, example: str, zero_allowed: bool = False,
                    maximum: float | None = None) -> float:
    """The number in ``env`` (``default`` when unset or blank); ValueError naming the variable when it is bad.

    Numbers must be positive, or zero too with ``zero_allowed``, and at most ``maximum`` when given.
    """
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{env}={raw!r} is not a number of {unit} (e.g. {example})") from None
    too_small = value < 0 if zero_allowed else value <= 0
    if too_small or value != value or (maximum is not None and value > maximum):  # value != value: NaN
        if zero_allowed:
            wanted = f"between 0 and {maximum:g}" if maximum is not None else "0 or more"
        else:
            wanted = f"more than 0 and at most {maximum:g}" if maximum is not None else "more than 0"
        raise ValueError(f"{env} must be {wanted} {unit}, got {raw!r} (e.g. {example})")
    return value
