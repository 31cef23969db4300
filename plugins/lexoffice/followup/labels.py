"""How a Lexware status reads to a person: in German, as Lexware Office itself shows it to the office staff and
accountants; ``--lang en`` adds the English word in brackets."""

from __future__ import annotations

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "draft": ("Entwurf", "draft"),
    "open": ("Offen", "open"),
    "sepadebit": ("Lastschrift", "SEPA direct debit"),
    "overdue": ("Überfällig", "overdue"),
    "paid": ("Bezahlt", "paid"),
    "paidoff": ("Ausgebucht", "paid off"),
    "voided": ("Storniert", "voided"),
    "deleted": ("In Lexware gelöscht", "deleted in Lexware"),
}

DELETED_REASON = ("nicht erneut gesendet (in Lexware gelöscht); erneut senden: "
                  "lexoffice resend {tenant} {doc_id}")


def status_label(status: str | None, language: str = "de") -> str:
    if not status:
        return ""
    german, english = STATUS_LABELS.get(status, (status, status))
    return f"{german} ({english})" if language == "en" else german
