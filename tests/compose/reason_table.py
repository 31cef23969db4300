"""The reason-code tables of docs/operations.md, generated from the catalogue (lexoffice.validation.reasons).

The catalogue is the one source of the codes and their messages; the guide shows it, it does not copy it.
``tests/compose/test_docs.py`` fails when the two differ. Regenerate after a catalogue change with

    .venv/bin/python -m tests.compose.reason_table
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operations.md"
START = "<!-- reason-codes: generated from plugins/lexoffice/validation/reasons.py by `python -m tests.compose.reason_table` -->"
END = "<!-- /reason-codes -->"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _table(specs: Iterable[Any]) -> list[str]:
    lines = ["| code | field | what it means and what to do |", "|---|---|---|"]
    lines += [f"| `{spec.code}` | `{spec.field}` | {_cell(spec.en)} |" for spec in specs]
    return lines


def render() -> str:
    """The generated block, markers included."""
    from lexoffice.validation.reasons import (
        DELIVERY_REASONS, INVOICE_REASONS, RETIRED_REASONS, SHARED_REASONS, TRANSACTION_REASONS,
    )

    lines = [START, "", "Both streams (the source row itself):", "", *_table(SHARED_REASONS), "",
             "Invoice drafts:", "", *_table(INVOICE_REASONS), "", "Bank and card transactions:", "",
             *_table(TRANSACTION_REASONS), "", "Checked again when a document is about to be sent (both streams):",
             "", *_table(DELIVERY_REASONS), "",
             "No longer reported (rows staged by older versions may still show them):", "",
             *_table(RETIRED_REASONS), "", END]
    return "\n".join(lines)


def current(text: str) -> str:
    """The generated block as it stands in ``text``."""
    match = re.search(re.escape(START) + r".*?" + re.escape(END), text, flags=re.S)
    if match is None:
        raise LookupError(f"{GUIDE.name} has no generated reason-code block ({START!r} … {END!r})")
    return match.group(0)


def main() -> int:
    text = GUIDE.read_text(encoding="utf-8")
    GUIDE.write_text(text.replace(current(text), render()), encoding="utf-8")
    print(f"reason codes written to {GUIDE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
