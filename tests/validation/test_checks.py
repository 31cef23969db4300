"""The column-wise building blocks, compared with independent per-value computations."""

from __future__ import annotations

import random
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from demo.generate import german_iban
from tests.support.oracles.reference_loop import decimal_places, iban_is_valid
from lexoffice.validation import checks


def _s(*values: object) -> pd.Series:
    return pd.Series(list(values), dtype=object).astype("str")


def test_iban_checksum() -> None:
    valid = ["DE89370400440532013000", "de89 3704 0044 0532 0130 00", "GB82WEST12345698765432",
             "NL91ABNA0417164300", "AT611904300234573201", "FR1420041010050500013M02606", "CH9300762011623852957"]
    invalid = ["DE89370400440532013001", "DE8937040044053201300", "DE89370400440532013000X", "GB82WEST1234569876543",
               "XX00", "DE00 3704 0044 0532 0130 00", "keine IBAN", "DE89370400440532O13000"]
    result = checks.valid_iban(_s(*valid, *invalid, None))
    assert result.tolist() == [True] * len(valid) + [False] * (len(invalid) + 1)


def test_iban_checksum_agrees_with_big_integer_arithmetic() -> None:
    rng = random.Random(5)
    ibans = [german_iban(rng) for _ in range(300)]
    typos = [iban[:k] + str((int(iban[k]) + 1) % 10) + iban[k + 1:] for iban, k in
             ((iban, rng.randrange(4, 22)) for iban in ibans[:150])]
    swapped = [iban[:6] + iban[7] + iban[6] + iban[8:] for iban in ibans[150:]]
    sample = ibans + typos + swapped
    vectorised = checks.valid_iban(_s(*sample)).tolist()
    assert vectorised == [iban_is_valid(iban) for iban in sample]
    assert all(vectorised[:300]) and not any(vectorised[300:450])  # every single-digit typo is caught


@pytest.mark.parametrize("places", [2, 4])
def test_decimal_places_are_exact(places: int) -> None:
    rng = random.Random(places)
    values = [0.0, 1.0, -0.0, 1e7, 9_999_999.9999, 0.1 + 0.2, 1e-5, 123.456789]
    values += [round(rng.uniform(-1e6, 1e6), rng.randrange(0, 7)) for _ in range(2000)]
    vectorised = checks.too_precise(np.array(values), places).tolist()
    assert vectorised == [decimal_places(v) > places for v in values]
    assert Decimal(repr(0.1 + 0.2)).as_tuple().exponent < -places  # 0.30000000000000004 really is too precise


def test_text_checks() -> None:
    assert checks.present(_s("a", " ", "", None, "\t\n", " x ")).tolist() == [True, False, False, False, False, True]
    assert checks.has_control_characters(_s("ok\nok\r\n\t", "bell\x07", "del\x7f", None, "ü")).tolist() == [
        False, True, True, False, False]
    assert checks.text_length(_s("äöü", None, "")).tolist() == [3, 0, 0]


def test_email_vat_and_country_shapes() -> None:
    assert checks.valid_email(_s("a@b.de", " max.muster@firma.example ", "jürgen@bäckerei-müller.de", "a@b",
                                 "a@@b.de", "a b@c.de", "@b.de", "a@-b.de", None)).tolist() == [
        True, True, True, False, False, False, False, False, False]
    assert checks.valid_vat_id(_s("DE123456789", "de 123 456 789", "DE12345678", "ATU12345678", "AT12345678",
                                  "FR12345678901", "NL123456789B01", "123456789", None)).tolist() == [
        True, True, False, True, False, True, True, False, False]
    assert checks.valid_country(_s("DE", " at ", "ch", "XK", "EU", "Deutschland", None, "D")).tolist() == [
        True, True, True, False, False, False, False, False]
