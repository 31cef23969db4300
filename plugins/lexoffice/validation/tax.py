"""Which VAT rates Lexware Office accepts on an invoice's relevant date (reference §6.7).

Lexware accepts 0, 7 and 19 %, except for relevant dates in the temporary reduction of 2020-07-01 to
2020-12-31, when only 0, 5 and 16 % are valid. Older historical rates are out of scope: Lexware
documents nothing else for invoices.
"""

from __future__ import annotations

from datetime import date

REDUCED_FROM = date(2020, 7, 1)
REDUCED_UNTIL = date(2020, 12, 31)
STANDARD_RATES: tuple[float, ...] = (0.0, 7.0, 19.0)
REDUCED_RATES: tuple[float, ...] = (0.0, 5.0, 16.0)


def is_reduced(relevant: date) -> bool:
    return REDUCED_FROM <= relevant <= REDUCED_UNTIL


def allowed_tax_rates(relevant: date) -> tuple[float, ...]:
    return REDUCED_RATES if is_reduced(relevant) else STANDARD_RATES
