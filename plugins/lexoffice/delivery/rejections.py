"""Turn a Lexware rejection into reasons a person can act on (stored on the outbox row and shown in the report)."""

from __future__ import annotations

from typing import Any


def reasons_from_error(err: Any, *, what: str) -> list[dict[str, str]]:
    """One reason per field-level issue; at least one reason carrying the HTTP status and Lexware's traceId."""
    status = getattr(err, "status", None)
    trace = getattr(err, "trace_id", None)
    suffix = f" (HTTP {status}{', traceId ' + trace if trace else ''})"
    reasons: list[dict[str, str]] = []
    for issue in getattr(err, "issues", None) or []:
        field = issue.field or "-"
        text = issue.message or issue.code or "invalid"
        reasons.append({
            "code": f"LEXWARE_{(issue.code or 'REJECTED').upper()}",
            "field": field,
            "message_en": f"Lexware Office rejected the {what}: {field}: {text}{suffix}. Fix it in the source system; "
                          "the changed document is staged and sent again.",
            "message_de": f"Lexware Office hat {what} abgelehnt: {field}: {text}{suffix}. Bitte im Quellsystem "
                          "korrigieren; der geänderte Beleg wird erneut übermittelt.",
        })
    if not reasons:
        reasons.append({
            "code": "LEXWARE_REJECTED",
            "field": "-",
            "message_en": f"Lexware Office rejected the {what}: {err}{suffix}.",
            "message_de": f"Lexware Office hat {what} abgelehnt: {err}{suffix}.",
        })
    return reasons
