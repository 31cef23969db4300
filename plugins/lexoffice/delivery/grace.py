"""How long an unknown outcome waits before "not found in Lexware" may count as "not created".

Lexware documents that a 504 "may have created the resource", and nothing says the service has finished when
the client sees the 504, a dropped connection or its own read timeout: the resource can appear seconds later
(measured: 5-6 s after the failure). A negative lookup right after the attempt therefore proves nothing. The
gateway gives up after 30 s, reads may lag behind writes, so the default waits far longer: 15 minutes. Until
then the document stays ``unknown`` ("wartet auf Bestätigung durch Lexware") and every run looks again.
Configurable per Lexware connection (extra ``confirm_grace_seconds``), so tests can use seconds.
"""

from __future__ import annotations

from typing import Any

EXTRA_NAME = "confirm_grace_seconds"
DEFAULT_CONFIRM_GRACE_SECONDS = 900.0


def confirm_grace_seconds(value: Any) -> float:
    """The connection extra as seconds (absent: the default); a clear error for anything else."""
    if value is None or value == "":
        return DEFAULT_CONFIRM_GRACE_SECONDS
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"connection extra '{EXTRA_NAME}' must be a number of seconds, got {value!r}") from None
    if seconds < 0:
        raise ValueError(f"connection extra '{EXTRA_NAME}' must not be negative, got {value!r}")
    return seconds
