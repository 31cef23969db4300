"""The one table the benchmark prints: a row per measurement, with its target and whether it was met.

Markdown, so the same text goes into docs/benchmarks.md unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    MET = "met"
    MISSED = "MISSED"
    INFO = "-"            # a baseline or context figure, no target of its own
    FAILED = "FAILED"     # the measurement itself did not complete (the result column says why)


@dataclass(frozen=True)
class Row:
    key: str            # stable id, e.g. "1.rate.token_bucket"; the smoke test checks every key is present
    measurement: str
    result: str
    target: str
    verdict: Verdict

    @classmethod
    def judged(cls, key: str, measurement: str, result: str, target: str, met: bool) -> Row:
        return cls(key, measurement, result, target, Verdict.MET if met else Verdict.MISSED)

    @classmethod
    def info(cls, key: str, measurement: str, result: str) -> Row:
        return cls(key, measurement, result, "", Verdict.INFO)

    @classmethod
    def failed(cls, key: str, measurement: str, why: str, target: str = "") -> Row:
        return cls(key, measurement, why, target, Verdict.FAILED)


HEADER = ("#", "measurement", "result", "target", "met")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(rows: list[Row]) -> str:
    body = [HEADER] + [(r.key, r.measurement, r.result, r.target, str(r.verdict)) for r in rows]
    cells = [[_cell(c) for c in line] for line in body]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in cells]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def parse_keys(text: str) -> list[str]:
    """The row keys of a rendered table (used by the smoke test)."""
    keys = []
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| #"):
            keys.append(line[2:].split(" | ", 1)[0].strip())
    return keys


def fmt_int(n: float) -> str:
    return f"{int(round(n)):,}"


def fmt_s(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds >= 10 else f"{seconds:.2f} s"


def fmt_mb(mb: float) -> str:
    return f"{mb:,.0f} MB"
