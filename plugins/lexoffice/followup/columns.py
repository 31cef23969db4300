"""The report's Lexware columns (status, voucher number, since when) and the task log's status lines.

``lexoffice report`` and the report task add these to what the outbox says; a draft deleted in Lexware gets a
reason a person can act on (it is never re-sent automatically).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pendulum

from lexoffice.followup.labels import DELETED_REASON, status_label
from lexoffice.state import lexware_status
from lexoffice.streams import spec_of

BERLIN = pendulum.timezone("Europe/Berlin")
COLUMNS = ("lexware_status", "rechnungsnummer", "status_seit")
EMPTY: dict[str, str] = dict.fromkeys(COLUMNS, "")


def _day(moment: Any) -> str:
    return pendulum.instance(moment).in_timezone(BERLIN).strftime("%d.%m.%Y") if moment else ""


def status_columns(engine: Any, *, tenant_id: str, stream: str, language: str = "de") -> dict[str, dict[str, str]]:
    """Per document key: the Lexware columns (and, for a deleted draft, the reason)."""
    out: dict[str, dict[str, str]] = {}
    for key, row in lexware_status.statuses(engine, tenant_id=tenant_id, stream=str(stream)).items():
        cells = {"lexware_status": status_label(row.status, language), "rechnungsnummer": row.voucher_number or "",
                 "status_seit": _day(row.status_changed_at)}
        if row.status == "deleted":
            cells["reason"] = DELETED_REASON.format(tenant=tenant_id, doc_id=key.split(":", 1)[-1])
        out[key] = cells
    return out


def status_lines(engine: Any, *, tenant_id: str, stream: str, sync: dict[str, Any] | None) -> list[str]:
    """Lines for the run report: this night's sync, the tenant's documents per Lexware status, deleted drafts."""
    if not spec_of(stream).follows_lexware_status:
        return []
    lines: list[str] = []
    if sync:
        if sync.get("writeback_error"):
            lines.append(f"  Rückschreiben fehlgeschlagen: {sync['writeback_error']}")
        if sync.get("skipped") or sync.get("error"):
            lines.append(f"  Status in Lexware Office nicht gelesen: {sync.get('skipped') or sync.get('error')}")
        else:
            lines.append(f"  Status in Lexware Office gelesen: {sync.get('observed', 0)} von "
                         f"{sync.get('open_before', 0)} offenen Belegen, {sync.get('changed', 0)} geändert, "
                         f"{sync.get('requests', 0)} Anfragen")
    rows = lexware_status.statuses(engine, tenant_id=tenant_id, stream=str(stream))
    if rows:
        counts = Counter(row.status for row in rows.values())
        lines.append("  Status in Lexware Office: " + " · ".join(
            f"{n} {status_label(status)}" for status, n in sorted(counts.items())))
    for key, row in sorted(rows.items()):
        if row.status == "deleted":
            lines.append(f"    {key}: " + DELETED_REASON.format(tenant=tenant_id, doc_id=key.split(":", 1)[-1]))
    return lines


def change_lines(result: Any) -> list[str]:
    """The task log of one sync: what was read, and every change with German labels."""
    if result.skipped:
        return [result.skipped]
    lines = [f"Status in Lexware Office für {result.tenant_id}: {result.observed} von {result.open_before} offenen "
             f"Rechnungen gelesen, {len(result.changes)} geändert, {result.requests} Anfragen"]
    for change in result.changes:
        number = f", Rechnungsnummer {change.voucher_number}" if change.voucher_number else ""
        lines.append(f"  {change.doc_key}: {status_label(change.old_status) or 'neu'} → "
                     f"{status_label(change.new_status)}{number} (seit {_day(change.changed_at)})")
    return lines
