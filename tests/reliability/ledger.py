"""The suite's one summary table: every fault case and input class adds a row, the session prints them once.

A row is only written after the case's own assertions ran, so a printed row is a checked row; the test asserts
``duplicates == 0`` and ``lost == 0`` itself, the table makes the promise visible in CI logs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = ("fault or input class", "documents", "delivered", "duplicates", "lost", "expected reasons seen")
SUMMARY_FILE_ENV = "LEXOFFICE_RELIABILITY_SUMMARY"


@dataclass(frozen=True)
class Row:
    case: str
    documents: int
    delivered: int
    duplicates: int
    lost: int
    seen: str

    def cells(self) -> tuple[str, ...]:
        return (self.case, str(self.documents), str(self.delivered), str(self.duplicates), str(self.lost), self.seen)


@dataclass
class Ledger:
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows = [r for r in self.rows if r.case != row.case] + [row]

    def table(self) -> str:
        """Faults first, then input classes, then security; the totals last."""
        def order(row: Row) -> tuple[int, str]:
            group = 1 if row.case.startswith("input") else 2 if row.case.startswith("security") else 0
            return group, row.case.casefold()

        rows = [r.cells() for r in sorted(self.rows, key=order)] + [self.totals().cells()]
        return markdown_table(COLUMNS, rows)

    def totals(self) -> Row:
        return Row("TOTAL", sum(r.documents for r in self.rows), sum(r.delivered for r in self.rows),
                   sum(r.duplicates for r in self.rows), sum(r.lost for r in self.rows), f"{len(self.rows)} rows")

    def write_if_asked(self) -> Path | None:
        """Also write the table to ``$LEXOFFICE_RELIABILITY_SUMMARY`` (how docs/reliability.md gets its copy)."""
        target = os.environ.get(SUMMARY_FILE_ENV)
        if not target or not self.rows:
            return None
        path = Path(target)
        path.write_text(self.table() + "\n", encoding="utf-8")
        return path


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)) + " |"

    return "\n".join([line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


LEDGER = Ledger()
