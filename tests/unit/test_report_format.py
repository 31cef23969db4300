"""`lexoffice report` shows every reason in full: wrapped onto further lines, never cut (issue 17)."""

from __future__ import annotations

from lexoffice.report import _reason_text, format_table


def test_long_cells_are_wrapped_not_cut() -> None:
    reason = ("[CUSTOMER_ADDRESS_INCOMPLETE] customer.address: Die Rechnungsadresse des Kunden ist unvollständig "
              "(es fehlt: Straße, PLZ). Ergänzen Sie Straße, Postleitzahl und Ort im Kundenstamm und senden Sie "
              "erneut.")
    table = format_table([{"document": "RE-2026-00026 (manual)", "state": "invalid", "reason": reason}],
                         ["document", "state", "reason"], max_width=40)
    assert "…" not in table
    lines = table.splitlines()
    assert len(lines) > 3 and all(len(line) <= len("RE-2026-00026 (manual)") + 2 + 7 + 2 + 40 for line in lines)
    reason_column = lines[0].index("reason")
    assert " ".join(line[reason_column:].strip() for line in lines[2:]) == reason
    assert lines[2].startswith("RE-2026-00026 (manual)") and lines[3].startswith(" ")


def test_every_reason_is_shown_not_only_the_first() -> None:
    reasons = [{"code": "A", "field": "title", "message_en": "too long", "message_de": "zu lang"},
               {"code": "B", "field": "voucher_date", "message_en": "missing", "message_de": "fehlt"}]
    assert _reason_text(reasons, "de") == "[A] title: zu lang; [B] voucher_date: fehlt"
