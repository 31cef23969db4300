"""How a Lexware status reads to a person: German first (office staff and accountants), English for ``--lang en``."""

from __future__ import annotations

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "draft": ("Entwurf", "draft"),
    "open": ("Offen", "open"),
    "overdue": ("Überfällig", "overdue"),
    "paid": ("Bezahlt", "paid"),
    "paidoff": ("Ausgebucht", "paid off"),
    "voided": ("Storniert", "voided"),
    "deleted": ("In Lexware gelöscht", "deleted in Lexware"),
}

DELETED_REASON = (
    "In Lexware Office gelöscht: wird nicht automatisch erneut gesendet. Erneut senden: "
    "`lexoffice resend-deleted {tenant} {doc_id}` (deleted in Lexware Office; never re-sent automatically)"
)


def status_label(status: str | None, language: str = "de") -> str:
    if not status:
        return ""
    german, english = STATUS_LABELS.get(status, (status, status))
    return english if language == "en" else german
