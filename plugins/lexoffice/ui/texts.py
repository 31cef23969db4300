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
_STATE_WORDS: dict[str, tuple[str, str]] = {
    "not_sent": ("nicht gesendet", "not sent"),
    "queued": ("in Warteschlange", "queued"),
    "sending": ("wird gesendet", "being sent"),
    "sent": ("gesendet", "sent"),
    "failed": ("fehlgeschlagen", "failed"),
    "awaiting": ("wartet auf Bestätigung", "awaiting confirmation"),
}
STATE_WORDS: dict[Language, dict[str, str]] = {
    lang: {key: pair[i] for key, pair in _STATE_WORDS.items()} for i, lang in enumerate(LANGUAGES)
}


def ui_state(outbox_state: str | None, *, queued: bool, deleted_in_lexware: bool = False) -> str:
    """The state a person sees. ``queued``: the document is in the selection of a run not finished yet;
    ``deleted_in_lexware``: a sent draft the accountant deleted, which a selection sends again."""
    if outbox_state == "sending":
        return "sending"
    if outbox_state == "sent":
        return "queued" if queued and deleted_in_lexware else "sent"
    if outbox_state == "unknown":
        return "awaiting"
    if queued:  # not staged yet, pending, or failed and sent again after a fix
        return "queued"
    if outbox_state in ("invalid", "rejected"):
        return "failed"
    return "not_sent"


# Every word once, as (German, English): no word can miss its translation.
_WORDS: dict[str, tuple[str, str]] = {
    "title": ("Lexware Office", "Lexware Office"),
    "tenants": ("Mandanten", "Tenants"),
    "documents": ("Rechnungsentwürfe", "Invoice drafts"),
    "transactions": ("Umsätze", "Transactions"),
    "organisation": ("Organisation", "Organisation"),
    "streams": ("Datenströme", "Streams"),
    "export_since": ("Export ab", "Export since"),
    "connection": ("Verbindung", "Connection"),
    "connected": ("verbunden", "connected"),
    "disconnected": ("getrennt", "disconnected"),
    "unhealthy": ("gestört", "failing"),
    "unchecked": ("noch nicht geprüft", "not checked yet"),
    "last_ok": ("letzter erfolgreicher Aufruf", "last successful call"),
    "last_error": ("letzter Fehler", "last error"),
    "connect_api_key": ("Mit API-Schlüssel verbinden", "Connect with an API key"),
    "api_key": ("API-Schlüssel", "API key"),
    "connect_oauth": ("Zugriff erlauben", "Allow access"),
    "disconnect": ("Trennen", "Disconnect"),
    "check": ("Verbindung prüfen", "Check connection"),
    "reconnect": ("Wieder verbinden", "Reconnect"),
    "move_export_since": ("Export ab verschieben", "Move export since"),
    "save": ("Speichern", "Save"),
    "number": ("Nummer", "Number"),
    "origin": ("Herkunft", "Origin"),
    "customer": ("Kunde", "Customer"),
    "voucher_date": ("Belegdatum", "Voucher date"),
    "gross": ("Betrag (brutto)", "Amount (gross)"),
    "state": ("Status", "State"),
    "datum_senden": ("Datum senden", "Datum senden (sent at)"),
    "lexware_id": ("Lexware-ID", "Lexware id"),
    "lexware_status": ("Status in Lexware", "Status in Lexware"),
    "voucher_number": ("Rechnungsnummer", "Invoice number"),
    "reasons": ("Gründe", "Reasons"),
    "send": ("An die Buchhaltung senden", "Send to accounting"),
    "select_all": ("Alle auswählen", "Select all"),
    "filter": ("Filtern", "Filter"),
    "all_states": ("alle Status", "all states"),
    "from": ("von", "from"),
    "to": ("bis", "to"),
    "search": ("Suche", "Search"),
    "next_page": ("Weiter", "Next"),
    "first_page": ("Zum Anfang", "Back to start"),
    "newest_first": ("neueste zuerst", "newest first"),
    "sorted_by": ("Sortiert nach", "Sorted by"),
    "ascending": ("aufsteigend", "ascending"),
    "descending": ("absteigend", "descending"),
    "changed_at": ("zuletzt geändert", "last changed"),
    "account": ("Konto", "Account"),
    "all_accounts": ("alle Konten", "all accounts"),
    "amount": ("Betrag", "Amount"),
    "counterparty": ("Zahlungspartner", "Counterparty"),
    "completed_at": ("abgeschlossen am", "completed at"),
    "purpose": ("Verwendungszweck", "Purpose"),
    "work_order": ("Auftrag", "work order"),
    "contract": ("Vertrag", "contract"),
    "manual": ("von Hand", "by hand"),
    "nothing_selected": ("Bitte zuerst Belege auswählen.", "Select documents first."),
    "sent_request": ("Der Auftrag ist angenommen; die Zeilen aktualisieren sich von selbst.",
                     "Accepted; the rows refresh by themselves."),
    "dag_paused": ("Der DAG {dag_id} ist pausiert: der Lauf wartet, bis ihn jemand in Airflow fortsetzt. "
                   "Diese Seite setzt ihn nicht fort.",
                   "The DAG {dag_id} is paused: the run waits until someone unpauses it in Airflow. "
                   "This page does not unpause it."),
    "no_rows": ("Keine Belege im gewählten Zeitraum.", "No documents in the chosen period."),
    "run_documents": ("Belege dieses Laufs", "Documents of this run"),
    "language": ("English", "Deutsch"),
    "changed_after_send": ("nach dem Senden in der Quelle geändert; nicht erneut gesendet: bitte in Lexware Office "
                           "von Hand korrigieren",
                           "changed in the source after it was sent; not sent again: correct it in Lexware Office "
                           "by hand"),
}
WORDS: dict[Language, dict[str, str]] = {
    lang: {key: pair[i] for key, pair in _WORDS.items()} for i, lang in enumerate(LANGUAGES)
}


def language(value: str | None) -> Language:
    """German unless English is asked for."""
    return "en" if (value or "").lower().startswith("en") else "de"
