"""Numbers from the environment: the default when unset, a clear error naming the variable otherwise."""

from __future__ import annotations

import pytest

from lexoffice.settings import number_from_env


def test_unset_or_blank_gives_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEXOFFICE_X", raising=False)
    assert number_from_env("LEXOFFICE_X", 7.0, unit="seconds", example="7") == 7.0
    monkeypatch.setenv("LEXOFFICE_X", "  ")
    assert number_from_env("LEXOFFICE_X", 7.0, unit="seconds", example="7") == 7.0


@pytest.mark.parametrize(("raw", "zero_allowed", "maximum", "expected"), [
    ("2.5", False, None, 2.5),
    ("0", True, 366, 0.0),
    ("366", True, 366, 366.0),
])
def test_good_values_are_read(monkeypatch: pytest.MonkeyPatch, raw: str, zero_allowed: bool,
                              maximum: float | None, expected: float) -> None:
    monkeypatch.setenv("LEXOFFICE_X", raw)
    assert number_from_env("LEXOFFICE_X", 1.0, unit="days", example="3", zero_allowed=zero_allowed,
                           maximum=maximum) == expected


@pytest.mark.parametrize(("raw", "zero_allowed", "maximum", "words"), [
    ("abc", False, None, "is not a number of seconds (e.g. 3)"),
    ("0", False, None, "must be more than 0 seconds"),
    ("-1", True, 366, "must be between 0 and 366 seconds"),
    ("400", True, 366, "must be between 0 and 366 seconds"),
    ("nan", False, None, "must be more than 0 seconds"),
    ("7", False, 5, "must be more than 0 and at most 5 seconds"),
])
def test_bad_values_name_the_variable_and_what_to_set(monkeypatch: pytest.MonkeyPatch, raw: str,
                                                      zero_allowed: bool, maximum: float | None, words: str) -> None:
    monkeypatch.setenv("LEXOFFICE_X", raw)
    with pytest.raises(ValueError, match="LEXOFFICE_X") as caught:
        number_from_env("LEXOFFICE_X", 1.0, unit="seconds", example="3", zero_allowed=zero_allowed,
                        maximum=maximum)
    assert words in str(caught.value)
