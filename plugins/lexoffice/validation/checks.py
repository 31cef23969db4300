"""Column-wise building blocks of the rules: each takes whole Series and returns a boolean array.

None of them loops over rows in our code: string tests use pandas' ``.str`` methods (which map over the
values in Cython; with pyarrow installed pandas would run them in Arrow's C++ kernels), the control-character
test scans a whole column at once before looking at single values, and the IBAN checksum runs mod 97
column by column over a byte matrix. The patterns are shared with the per-row reference implementation,
so both judge the same text the same way.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

from lexoffice.payloads import CONTROL_CHARACTERS
from lexoffice.validation.countries import ISO_3166_ALPHA2

_CONTROL = re.compile(CONTROL_CHARACTERS)

#: Pragmatic e-mail shape: one @, a dotted domain (internationalised letters allowed), a TLD of letters.
EMAIL = r"[\w.!#$%&'*+/=?^`{|}~-]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}"

#: VAT ids after removing spaces and upper-casing: German and Austrian exactly, other countries by shape.
VAT_ID = r"DE\d{9}|ATU\d{8}|(?!DE|AT)[A-Z]{2}[0-9A-Z+*]{2,12}"

#: IBAN shape after removing spaces and upper-casing; German IBANs are exactly 22 characters, all digits.
IBAN = r"DE\d{20}|(?!DE)[A-Z]{2}\d{2}[A-Z0-9]{11,30}"
IBAN_MAX_LENGTH = 34

LEXWARE_SOFTWARE = frozenset({"lexoffice", "lexware office", "lexware"})


def _text(series: pd.Series) -> pd.Series:
    return series if series.dtype == "str" else series.astype("str")


#: Characters that show nothing: zero-width space/joiners, direction marks and embeddings, word joiner and
#: invisible operators, BOM, soft hyphen, Mongolian vowel separator. A name made only of these is no name.
INVISIBLE = "[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
_INVISIBLE = re.compile(INVISIBLE)


def present(series: pd.Series) -> np.ndarray:
    """Given and not blank (NULL, whitespace-only and invisible-only text all count as missing)."""
    text = _text(series)
    if _INVISIBLE.search("".join(text.dropna().tolist())):  # rare: one scan first, as for control characters
        text = text.str.replace(INVISIBLE, "", regex=True)
    non_empty = text.str.len().fillna(0).to_numpy() > 0
    return non_empty & ~text.str.isspace().fillna(False).to_numpy(dtype=bool)


def text_length(series: pd.Series) -> np.ndarray:
    """Characters per value, 0 when missing."""
    return _text(series).str.len().fillna(0).to_numpy(dtype=np.int64)


def has_control_characters(series: pd.Series) -> np.ndarray:
    text = _text(series)
    # One scan over the whole column first: almost always clean, and then no per-value search is needed.
    # The pattern matches single characters, so joining values cannot create a false match.
    if not _CONTROL.search("".join(text.dropna().tolist())):
        return np.zeros(len(text), dtype=bool)
    return text.str.contains(CONTROL_CHARACTERS, regex=True).fillna(False).to_numpy(dtype=bool)


def too_precise(values: pd.Series | np.ndarray, places: int) -> np.ndarray:
    """More than ``places`` decimals. Exact for |x| * 10**places < 2**53: a float with at most ``places``
    decimals is the double nearest to that decimal, which ``np.round`` reproduces; any other value differs."""
    array = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return ~np.isnan(array) & (np.round(array, places) != array)


def not_a_number(text: pd.Series, values: pd.Series | np.ndarray) -> np.ndarray:
    """Given in the source but not a finite number: NaN, ±Infinity or text that is no number at all."""
    array = np.asarray(values, dtype=np.float64)
    return present(text) & ~np.isfinite(array)


def shown_number(text: str) -> str:
    """A source number as a reason quotes it: NaN and ±Infinity spelled one way whatever the database wrote
    (PostgreSQL 'Infinity', SQLite 'inf'), anything else as it stands."""
    try:
        value = float(str(text).strip())
    except ValueError:
        return text
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return text


#: Texts this short hold at most 15 significant digits, which a float64 keeps exactly: for them the float
#: rule (``too_precise``) is exact. Longer texts (a NUMERIC with 18 decimals, say) are judged on their digits.
_FLOAT_EXACT_LENGTH = 15


def too_many_places(text: pd.Series, values: pd.Series | np.ndarray, places: int) -> np.ndarray:
    """More than ``places`` decimals in the source's own digits (``<column>_text`` and the float column).

    Judged on the text where a float could hide digits, so that a NUMERIC 1.230000000000000001 is not taken
    for 1.23; the float rule for all the rest (a whole column at once; long texts are rare). Values that are
    no finite number are ``not_a_number``'s business.
    """
    out = too_precise(values, places)
    t = _text(text)
    long = text_length(t) > _FLOAT_EXACT_LENGTH
    if long.any():
        raw = t.to_numpy(dtype=object)
        for row in np.flatnonzero(long):
            out[row] = decimal_places(raw[row]) > places
    return out


def decimal_places(text: str) -> int:
    """Decimal places of a finite number written as text; 0 for anything else."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        return 0
    if not value.is_finite():
        return 0
    return max(0, -int(value.normalize().as_tuple().exponent))


def compact(series: pd.Series) -> pd.Series:
    """Upper-case without whitespace: how IBANs and VAT ids are compared and sent."""
    return _text(series).str.replace(r"\s+", "", regex=True).str.upper()


def matches(series: pd.Series, pattern: str) -> np.ndarray:
    return _text(series).str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)


def valid_email(series: pd.Series) -> np.ndarray:
    return matches(_text(series).str.strip(), EMAIL)


def valid_vat_id(series: pd.Series) -> np.ndarray:
    return matches(compact(series), VAT_ID)


def valid_country(series: pd.Series) -> np.ndarray:
    codes = _text(series).str.strip().str.upper()
    return codes.isin(ISO_3166_ALPHA2).to_numpy(dtype=bool)


def valid_iban(series: pd.Series) -> np.ndarray:
    """Right shape and ISO 7064 mod-97 check digits."""
    ibans = compact(series)
    ok = matches(ibans, IBAN).copy()
    if not ok.any():
        return ok
    candidates = ibans[ok]
    rearranged = (candidates.str[4:] + candidates.str[:4]).str.ljust(IBAN_MAX_LENGTH)
    matrix = (
        np.asarray(rearranged.to_numpy(dtype=object), dtype=f"S{IBAN_MAX_LENGTH}")
        .view(np.uint8)
        .reshape(-1, IBAN_MAX_LENGTH)
        .astype(np.int64)
    )
    remainder = np.zeros(len(candidates), dtype=np.int64)
    for column in matrix.T:  # at most 34 steps, each over all IBANs at once
        digit = (column >= ord("0")) & (column <= ord("9"))
        letter = (column >= ord("A")) & (column <= ord("Z"))
        remainder = np.where(digit, (remainder * 10 + column - ord("0")) % 97, remainder)
        remainder = np.where(letter, (remainder * 100 + column - ord("A") + 10) % 97, remainder)
    ok[np.flatnonzero(ok)] = remainder == 1
    return ok
