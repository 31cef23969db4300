"""The report a person reads: per document its state, Lexware id, "Datum senden" and a reason to act on;
per run and tenant the counts by state, ending with one line readable at a glance."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import pendulum

from lexoffice.documents import Stream
from lexoffice.followup import columns as followup_columns
from lexoffice.state import duplicates, history, outbox, tenants
from lexoffice.state.outbox import DocState

BERLIN = pendulum.timezone("Europe/Berlin")
STATE_ORDER = [DocState.SENT, DocState.PENDING, DocState.SENDING, DocState.UNKNOWN, DocState.REJECTED,
               DocState.INVALID]
TWICE_KEY = "twice_in_lexware"
WAITING = {"en": "waiting to confirm with Lexware (outcome unknown; looked up again by the next run, sent again "
                  "only if Lexware still has nothing after the grace period)",
           "de": "wartet auf Bestätigung durch Lexware (Ergebnis unbekannt; der nächste Lauf prüft erneut und "
                 "sendet nur, wenn Lexware nach der Wartezeit nichts hat)"}
TWICE = {"en": "exists {n}x in Lexware ({ids}). {note}", "de": "existiert {n}x in Lexware ({ids}). {note}"}
ATTENTION = [DocState.INVALID, DocState.REJECTED, DocState.UNKNOWN]
RUN_LIST_LIMIT = 50  # documents a run's report lists by name; the rest is counted and paged in `lexoffice report`
# "id" is the source id a manual run selects with the document_ids param.
COLUMNS = ["tenant", "stream", "document", "id", "state", "lexware_id", "datum_senden", "lexware_status",
           "rechnungsnummer", "status_seit", "reason"]  # the Lexware columns: lexoffice/followup/columns.py


def datum_senden(at: datetime | None) -> str:
    """'Datum senden' as the office reads it: Europe/Berlin, dd.mm.yyyy HH:MM (empty when not sent)."""
    return pendulum.instance(at).in_timezone(BERLIN).strftime("%d.%m.%Y %H:%M") if at else ""


def _reason_text(reasons: Sequence[dict[str, Any]] | None, language: str) -> str:
    """Every reason, in full: a person must be able to act on each without looking elsewhere."""
    if not reasons:
        return ""
    key = "message_de" if language == "de" else "message_en"
    return "; ".join(f"[{r.get('code')}] {r.get('field')}: {r.get(key) or r.get('message_en')}" for r in reasons)


def document_rows(engine: Any, *, tenant_ids: Iterable[str] | None = None, streams: Iterable[str] | None = None,
                  states: Iterable[str] | None = None, language: str = "en",
                  doc_keys: list[str] | None = None, run_id: str | None = None, offset: int = 0,
                  limit: int | None = None) -> list[dict[str, Any]]:
    """One dict per outbox document (the table behind ``lexoffice report``).

    With ``limit`` (a page: rows ``offset`` .. ``offset + limit``) or ``run_id`` (that run's rows only) the rows are
    read in keyset pages, by state then id, so a page of a huge outbox costs bounded memory.
    """
    wanted_tenants = list(tenant_ids) if tenant_ids else [t.tenant_id for t in tenants.list_tenants(engine)]
    wanted_streams = list(streams) if streams else [Stream.INVOICES, Stream.TRANSACTIONS]
    wanted_states = [DocState(s) for s in states] if states else None
    paged = (limit is not None or run_id is not None) and doc_keys is None
    out: list[dict[str, Any]] = []
    skip = offset
    for tenant_id in wanted_tenants:
        for stream in wanted_streams:
            if limit is not None and len(out) >= limit:
                return out
            twice = duplicates.for_stream(engine, tenant_id=tenant_id, stream=str(stream))
            in_lexware = followup_columns.status_columns(engine, tenant_id=tenant_id, stream=stream, language=language)
            warnings = history.latest_by_kind(engine, tenant_id=tenant_id, stream=stream, kind=history.WARNING)
            rows: Iterable[Any] = (
                outbox.iter_rows(engine, tenant_id=tenant_id, stream=stream, states=wanted_states, run_id=run_id)
                if paged else outbox.rows(engine, tenant_id=tenant_id, stream=stream, states=wanted_states,
                                          doc_keys=doc_keys))
            for row in rows:
                if skip:
                    skip -= 1
                    continue
                if limit is not None and len(out) >= limit:
                    break
                out.append(_document_row(tenant_id, str(stream), row, twice, warnings, in_lexware, language))
    return out


def iter_document_rows(engine: Any, *, tenant_id: str, stream: str, language: str = "en",
                       chunk_size: int = 1000) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Each outbox row of one tenant's stream with its report row, read in the outbox's keyset pages (the
    status write-back: memory does not grow with the outbox; the per-stream look-ups are read once)."""
    twice = duplicates.for_stream(engine, tenant_id=tenant_id, stream=str(stream))
    in_lexware = followup_columns.status_columns(engine, tenant_id=tenant_id, stream=stream, language=language)
    warnings = history.latest_by_kind(engine, tenant_id=tenant_id, stream=stream, kind=history.WARNING)
    for row in outbox.iter_rows(engine, tenant_id=tenant_id, stream=stream, chunk_size=chunk_size):
        yield row, _document_row(tenant_id, str(stream), row, twice, warnings, in_lexware, language)


def _document_row(tenant_id: str, stream: str, row: Any, twice: dict[str, Any], warnings: dict[str, str],
                  in_lexware: dict[str, dict[str, str]], language: str) -> dict[str, Any]:
    sent = datum_senden(row.sent_at)
    reason = _reason_text(row.reasons, language)
    if row.state in (DocState.UNKNOWN, DocState.SENDING) and not reason:
        reason = (WAITING[language] + (f": {row.last_error}" if row.last_error else "")).strip()
    dup = twice.get(row.doc_key)
    if dup is not None:
        reason = TWICE[language].format(n=len(dup.lexware_ids), ids=", ".join(dup.lexware_ids),
                                        note=dup.note) + (f"; {reason}" if reason else "")
    if row.changed_after_send:
        reason = ("changed in the source after it was sent; not sent again - correct the draft in "
                  "Lexware Office by hand" + (f"; {reason}" if reason else ""))
    if row.doc_key in warnings and row.state in (DocState.PENDING, DocState.SENT):
        reason = f"Hinweis: {warnings[row.doc_key]}" + (f"; {reason}" if reason else "")
    return {
        "tenant": tenant_id, "stream": stream, "document": row.source_ref or row.doc_key,
        "id": row.doc_key.split(":", 1)[-1],
        "state": f"{row.state} ({len(dup.lexware_ids)}x in Lexware)" if dup else str(row.state),
        "lexware_id": row.lexware_id or "", "datum_senden": sent,
        "reason": reason, **in_lexware.get(row.doc_key, followup_columns.EMPTY),
    }


def state_counts(engine: Any, *, tenant_id: str, stream: str) -> dict[str, int]:
    """Documents per state, and how many of them the duplicate audit found more than once in Lexware."""
    counts = outbox.counts(engine, tenant_id=tenant_id, stream=stream)
    result = {str(s): int(counts.get(s, 0)) for s in STATE_ORDER}
    result[TWICE_KEY] = len(duplicates.for_stream(engine, tenant_id=tenant_id, stream=stream))
    return result


def summary_line(tenant_id: str, stream: str, counts: dict[str, int]) -> str:
    parts = [f"{counts.get(str(s), 0)} {s}" for s in STATE_ORDER if counts.get(str(s), 0) or s == DocState.SENT]
    if counts.get(TWICE_KEY):
        parts.append(f"{counts[TWICE_KEY]} of them more than once in Lexware (see `lexoffice audit`)")
    return f"{tenant_id} · {stream}: " + " · ".join(parts)


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] = COLUMNS, max_width: int = 70) -> str:
    """A plain-text table; a cell longer than ``max_width`` is wrapped onto further lines, never cut."""
    def cell(value: Any) -> list[str]:
        return textwrap.wrap(" ".join(str(value).split()), max_width, break_on_hyphens=False) or [""]

    cells = [{c: cell(r.get(c, "")) for c in columns} for r in rows]
    widths = {c: max([len(c)] + [len(part) for row in cells for part in row[c]]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns).rstrip(),
             "  ".join("-" * widths[c] for c in columns)]
    for row in cells:
        for i in range(max(len(parts) for parts in row.values())):
            parts = [(row[c][i] if i < len(row[c]) else "").ljust(widths[c]) for c in columns]
            lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def selection_not_sent(engine: Any, *, tenant_id: str, stream: str, stage: dict[str, Any]) -> list[str]:
    """One line per selected document that is not in Lexware Office after the run (or that does not exist)."""
    lines = [f"{token}: nicht gefunden / not found for this tenant" for token in stage.get("missing_ids") or []]
    for row in outbox.rows(engine, tenant_id=tenant_id, stream=stream, doc_keys=stage.get("doc_keys") or []):
        if row.state != DocState.SENT:
            why = _reason_text(row.reasons, "de") or row.last_error or ""
            lines.append(f"{row.source_ref or row.doc_key}: {row.state}" + (f" - {why}" if why else ""))
    return lines


def run_report(engine: Any, *, tenant_id: str, stream: str, stage: dict[str, Any] | None,
               delivery: dict[str, Any] | None, blocked: str | None = None, note: str | None = None,
               status_sync: dict[str, Any] | None = None, run_id: str | None = None) -> str:
    """Text for the end of a run: what was staged and sent, the failures this run produced (at most
    RUN_LIST_LIMIT, with their reasons), how many need attention in all and where the full list is, the counts."""
    lines = [f"Lexware Office report for tenant {tenant_id}, {stream}"]
    if stage:
        lines.append(f"  window: {stage.get('window') or 'selection'}; staged: {stage.get('counts')}")
        if stage.get("out_of_scope"):
            lines.append(f"  out of scope: {stage['out_of_scope']} transaction(s) of accounts at other banks "
                         "(multi-banking) are not transferred / Umsätze von Konten anderer Banken werden nicht "
                         "übertragen")
        lines += [f"  SOURCE PROBLEM: {problem}" for problem in stage.get("source_problems") or []]
    if delivery:
        if delivery.get("dry_run"):
            listed = delivery.get("would_send") or []
            total = delivery.get("would_send_count", len(listed))
            lines.append(f"  DRY RUN: {total} document(s) would be sent, none was"
                         + (f"; the first {len(listed)}:" if total > len(listed) else ":"))
            lines += [f"    would send {item}" for item in listed]
        else:
            lines.append("  this run: sent {sent}, rejected {rejected}, reconciled as already sent "
                         "{reconciled_sent}, still unknown {unknown}, waiting to confirm with Lexware "
                         "{waiting}".format(waiting=delivery.get("awaiting_confirmation", 0), **delivery))
            if delivery.get("budget_spent"):
                lines.append(f"  time budget spent: {delivery.get('pending_left', 0)} document(s) stay pending and "
                             "are sent by the next run (Zeitbudget erreicht; der nächste Lauf sendet den Rest)")
    if note:
        lines.append(f"  note: {note}")
    if blocked:
        lines.append(f"  BLOCKED: {blocked}")
    lines += _attention(engine, tenant_id, stream, run_id)
    lines += followup_columns.status_lines(engine, tenant_id=tenant_id, stream=stream, sync=status_sync)
    lines.append("  " + summary_line(tenant_id, stream, state_counts(engine, tenant_id=tenant_id, stream=stream)))
    return "\n".join(lines)


def _attention(engine: Any, tenant_id: str, stream: str, run_id: str | None) -> list[str]:
    """The documents that need attention: this run's failures by name (bounded), all of them as a count.

    Without a run id (a report outside a run) the first RUN_LIST_LIMIT of all failures are listed.
    """
    failures = document_rows(engine, tenant_ids=[tenant_id], streams=[stream], states=ATTENTION, run_id=run_id,
                             limit=RUN_LIST_LIMIT)
    in_run = outbox.count_rows(engine, tenant_id=tenant_id, stream=stream, states=ATTENTION, run_id=run_id)
    in_all = outbox.count_rows(engine, tenant_id=tenant_id, stream=stream, states=ATTENTION)
    twice = duplicates.for_stream(engine, tenant_id=tenant_id, stream=stream)
    if twice:  # sent, but present more than once in Lexware: never shown as simply "sent" (few; all listed)
        failures += document_rows(engine, tenant_ids=[tenant_id], streams=[stream], states=[DocState.SENT],
                                  doc_keys=list(twice))
        in_run, in_all = in_run + len(twice), in_all + len(twice)
    lines = []
    if failures:
        what = "of this run " if run_id else ""
        more = f" (the first {RUN_LIST_LIMIT})" if in_run > len(failures) else ""
        lines.append(f"  {in_run} document(s) {what}need attention{more}:")
        lines += [f"    {f['document']}: {f['state']} - {f['reason']}" for f in failures]
    if in_all > len(failures):
        lines.append(f"  {in_all} document(s) need attention in all; the full list, page by page: "
                     f"`lexoffice report --tenant {tenant_id} --stream {stream} --state invalid --state rejected "
                     f"--state unknown --page 1 --limit 100`")
    return lines
