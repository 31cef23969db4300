"""The words the page shows, German first and English switchable; one place for the state words.

The office staff do not think in outbox states: a row is "nicht gesendet", "in Warteschlange", "wird
gesendet", "gesendet", "fehlgeschlagen" or "wartet auf Bestätigung". Reason texts themselves come from the
reason catalogue (stored with the row in both languages), never from here.
"""

from __future__ import annotations

from typing import Literal

from lexoffice.report import datum_senden

__all__ = ["STATE_WORDS", "UI_STATES", "WORDS", "datum_senden", "language", "ui_state"]

Language = Literal["de", "en"]
LANGUAGES: tuple[Language, ...] = ("de", "en")

# UI state -> words. The UI state is derived from the outbox state by ``ui_state``.
UI_STATES = ("not_sent", "queued", "sending", "sent", "failed", "awaiting")
STATE_WORDS: dict[Language, dict[str, str]] = {
    "de": {"not_sent": "nicht gesendet", "queued": "in Warteschlange", "sending": "wird gesendet",
           "sent": "gesendet", "failed": "fehlgeschlagen", "awaiting": "wartet auf Bestätigung"},
    "en": {"not_sent": "not sent", "queued": "queued", "sending": "being sent", "sent": "sent",
           "failed": "failed", "awaiting": "awaiting confirmation"},
}


def ui_state(outbox_state: str | None, *, queued: bool) -> str:
    """The state a person sees. ``queued``: the document is in the selection of a run not finished yet."""
    if outbox_state == "sending":
        return "sending"
    if outbox_state == "sent":
        return "sent"
    if outbox_state == "unknown":
        return "awaiting"
    if queued:  # not staged yet, pending, or failed and sent again after a fix
        return "queued"
    if outbox_state in ("invalid", "rejected"):
        return "failed"
    return "not_sent"


WORDS: dict[Language, dict[str, str]] = {
    "de": {
        "title": "Lexware Office", "tenants": "Mandanten", "documents": "Rechnungsentwürfe",
        "transactions": "Umsätze", "organisation": "Organisation", "streams": "Datenströme",
        "export_since": "Export ab", "connection": "Verbindung", "connected": "verbunden",
        "disconnected": "getrennt", "unhealthy": "gestört", "unchecked": "noch nicht geprüft",
        "last_ok": "letzter erfolgreicher Aufruf", "last_error": "letzter Fehler",
        "connect_api_key": "Mit API-Schlüssel verbinden", "api_key": "API-Schlüssel",
        "connect_oauth": "Zugriff erlauben", "disconnect": "Trennen", "check": "Verbindung prüfen",
        "reconnect": "Wieder verbinden",
        "move_export_since": "Export ab verschieben", "save": "Speichern",
        "number": "Nummer", "origin": "Herkunft", "customer": "Kunde", "voucher_date": "Belegdatum",
        "gross": "Betrag (brutto)", "state": "Status", "datum_senden": "Datum senden",
        "lexware_id": "Lexware-ID", "reasons": "Gründe", "send": "An die Buchhaltung senden",
        "select_all": "Alle auswählen", "filter": "Filtern", "all_states": "alle Status",
        "from": "von", "to": "bis", "search": "Suche", "next_page": "Weiter", "first_page": "Zum Anfang",
        "newest_first": "neueste zuerst", "oldest_first": "älteste zuerst", "account": "Konto",
        "all_accounts": "alle Konten", "amount": "Betrag", "counterparty": "Zahlungspartner",
        "completed_at": "abgeschlossen am", "purpose": "Verwendungszweck",
        "work_order": "Auftrag", "contract": "Vertrag", "manual": "von Hand",
        "nothing_selected": "Bitte zuerst Belege auswählen.",
        "sent_request": "Der Auftrag ist angenommen; die Zeilen aktualisieren sich von selbst.",
        "dag_paused": ("Der DAG {dag_id} ist pausiert: der Lauf wartet, bis ihn jemand in Airflow fortsetzt. "
                       "Diese Seite setzt ihn nicht fort."),
        "no_rows": "Keine Belege im gewählten Zeitraum.", "run_documents": "Belege dieses Laufs",
        "language": "English", "changed_after_send": ("nach dem Senden in der Quelle geändert; nicht erneut "
                                                      "gesendet: bitte in Lexware Office von Hand korrigieren"),
    },
    "en": {
        "title": "Lexware Office", "tenants": "Tenants", "documents": "Invoice drafts",
        "transactions": "Transactions", "organisation": "Organisation", "streams": "Streams",
        "export_since": "Export since", "connection": "Connection", "connected": "connected",
        "disconnected": "disconnected", "unhealthy": "failing", "unchecked": "not checked yet",
        "last_ok": "last successful call", "last_error": "last error",
        "connect_api_key": "Connect with an API key", "api_key": "API key",
        "connect_oauth": "Allow access", "disconnect": "Disconnect", "check": "Check connection",
        "reconnect": "Reconnect",
        "move_export_since": "Move export since", "save": "Save",
        "number": "Number", "origin": "Origin", "customer": "Customer", "voucher_date": "Voucher date",
        "gross": "Amount (gross)", "state": "State", "datum_senden": "Datum senden (sent at)",
        "lexware_id": "Lexware id", "reasons": "Reasons", "send": "Send to accounting",
        "select_all": "Select all", "filter": "Filter", "all_states": "all states",
        "from": "from", "to": "to", "search": "Search", "next_page": "Next", "first_page": "Back to start",
        "newest_first": "newest first", "oldest_first": "oldest first", "account": "Account",
        "all_accounts": "all accounts", "amount": "Amount", "counterparty": "Counterparty",
        "completed_at": "completed at", "purpose": "Purpose",
        "work_order": "work order", "contract": "contract", "manual": "by hand",
        "nothing_selected": "Select documents first.",
        "sent_request": "Accepted; the rows refresh by themselves.",
        "dag_paused": ("The DAG {dag_id} is paused: the run waits until someone unpauses it in Airflow. "
                       "This page does not unpause it."),
        "no_rows": "No documents in the chosen period.", "run_documents": "Documents of this run",
        "language": "Deutsch", "changed_after_send": ("changed in the source after it was sent; not sent "
                                                      "again: correct it in Lexware Office by hand"),
    },
}


def language(value: str | None) -> Language:
    """German unless English is asked for."""
    return "en" if (value or "").lower().startswith("en") else "de"
