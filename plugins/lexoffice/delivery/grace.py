"""How long an unknown outcome waits before "not found in Lexware" may count as "not created".

Lexware documents that a 504 "may have created the resource", and nothing says the service has finished when
the client sees the 504, a dropped connection or its own read timeout: the resource can appear seconds later
(measured: 5-6 s after the failure). A negative lookup right after the attempt therefore proves nothing. The
gateway gives up after 30 s, reads may lag behind writes, so the default waits far longer: 15 minutes. Until
then the document stays ``unknown`` ("wartet auf Bestätigung durch Lexware") and every run looks again.
Configurable per Lexware connection (extra ``confirm_grace_seconds``), so tests can use seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lexoffice.state.db import utcnow
from lexoffice.state.mappings import Mapping, MappingState

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


def create_unconfirmed(mapping: Mapping | None, grace_seconds: float, *, now: datetime | None = None) -> bool:
    """A contact or account create whose outcome is unknown and whose attempt is younger than the grace period.

    Such a create may still appear in Lexware: a lookup that finds nothing must not lead to a second create.
    """
    if mapping is None or mapping.state not in (MappingState.CREATING, MappingState.UNKNOWN):
        return False
    return ((now or utcnow()) - mapping.claimed_at).total_seconds() < grace_seconds
