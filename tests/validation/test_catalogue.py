"""The reason catalogue: stable, complete, bilingual."""

from __future__ import annotations

import re
import string
from datetime import date, datetime, timezone

from lexoffice.validation.reasons import (
    CATALOGUE, DELIVERY_REASONS, INVOICE_REASONS, MAX_QUOTED, RANK, RETIRED_REASONS, SHARED_REASONS,
    TRANSACTION_REASONS, Label, Labels, format_value,
)


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_codes_are_unique_and_stable_looking() -> None:
    codes = [spec.code for spec in (*SHARED_REASONS, *INVOICE_REASONS, *TRANSACTION_REASONS, *DELIVERY_REASONS,
                                    *RETIRED_REASONS)]
    assert len(codes) == len(set(codes)) == len(CATALOGUE) == len(RANK)
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]+", code) for code in codes)
    assert all(spec.code.startswith("TXN_") for spec in (*TRANSACTION_REASONS, *RETIRED_REASONS))
    assert all(spec.code.startswith("SOURCE_") for spec in SHARED_REASONS)


def test_quoted_values_are_capped() -> None:
    """A 10 MB source value is not printed into a reason (issue 15): its start and its length are."""
    huge = "x" * 10_000_000
    rendered = format_value(huge, "de")
    assert len(rendered) < MAX_QUOTED + 40 and "10000000 Zeichen" in rendered
    assert format_value("kurz", "en") == "\u201ckurz\u201d"


def test_every_message_exists_in_both_languages_with_the_same_placeholders() -> None:
    for spec in CATALOGUE.values():
        assert spec.en and spec.de and spec.en != spec.de, spec.code
        assert _placeholders(spec.en) == _placeholders(spec.de), spec.code
        rendered = spec(**{name: "x" for name in _placeholders(spec.en)})
        assert rendered.code == spec.code and rendered.field == spec.field
        assert rendered.as_dict()["message_de"] == rendered.message_de


def test_values_follow_each_language() -> None:
    assert format_value(1234.5, "en") == "1234.5" and format_value(1234.5, "de") == "1234,5"
    assert format_value(19.0, "de") == "19"
    assert format_value(date(2025, 3, 7), "en") == "2025-03-07" and format_value(date(2025, 3, 7), "de") == "07.03.2025"
    moment = datetime(2025, 6, 30, 22, 30, tzinfo=timezone.utc)
    assert format_value(moment, "en") == "2025-07-01 00:30" and format_value(moment, "de") == "01.07.2025 00:30"
    assert format_value(None, "de") == "(leer)" and format_value(float("nan"), "en") == "(empty)"
    assert format_value("CHF", "en") == "\u201cCHF\u201d" and format_value("CHF", "de") == "\u201eCHF\u201c"
    assert format_value(Label("line.name", 3), "de") == "Bezeichnung von Position 3"
    assert format_value(Labels(("street", "zip")), "en") == "street, postcode"
