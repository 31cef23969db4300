"""Collecting rule violations and turning them into the per-document result frame.

Both the vectorised rules and the per-row reference report ``Finding`` objects and share ``assemble``,
so their results are ordered identically: by catalogue rank, then line position, then field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from lexoffice.documents import Reason
from lexoffice.validation.reasons import RANK, ReasonSpec

REASONS_COLUMN = "reasons"


class Finding(NamedTuple):
    """A named tuple, not a dataclass: a page with many invalid rows makes hundreds of thousands of them."""

    doc: int            # row number of the document in the frame that was validated
    rank: int           # catalogue rank of the reason
    position: int       # line position; -1 for document-level reasons
    field_order: int    # orders several fields checked by one rule
    reason: Reason


_ORDER = itemgetter(0, 1, 2, 3)  # doc, rank, position, field_order


def assemble(doc_ids: Sequence[Any], findings: Iterable[Finding]) -> pd.DataFrame:
    """One row per document (index: doc id) with column ``reasons``: list of ``Reason``, empty when valid."""
    per_doc: list[list[Reason]] = [[] for _ in range(len(doc_ids))]
    for finding in sorted(findings, key=_ORDER):
        per_doc[finding.doc].append(finding.reason)
    index = pd.Index(list(doc_ids), name="doc_id", dtype=object)
    result = pd.DataFrame(index=index)
    column = np.empty(len(per_doc), dtype=object)
    column[:] = per_doc
    result[REASONS_COLUMN] = column
    return result


class Collector:
    """Turns boolean masks into findings; the only Python loop runs over violations, never over all rows."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(
        self,
        spec: ReasonSpec,
        mask: np.ndarray,
        *,
        docs: np.ndarray | None = None,
        positions: np.ndarray | None = None,
        field: str | Callable[[int], str] | None = None,
        field_order: int = 0,
        params: Callable[[int], dict[str, Any]] | None = None,
    ) -> None:
        """Record ``spec`` for every true row of ``mask``.

        ``docs`` maps mask rows to document rows (line rules); ``positions`` gives line positions;
        ``field`` and ``params`` are evaluated for violating rows only.
        """
        rank = RANK[spec.code]
        constant = None if params is not None or callable(field) else spec(field=field)
        for row in np.flatnonzero(mask):
            row = int(row)
            if constant is not None:
                reason = constant  # same text for every row: render once
            else:
                name = field(row) if callable(field) else field
                reason = spec(field=name, **(params(row) if params else {}))
            self.findings.append(
                Finding(
                    doc=int(docs[row]) if docs is not None else row,
                    rank=rank,
                    position=int(positions[row]) if positions is not None else -1,
                    field_order=field_order,
                    reason=reason,
                )
            )
