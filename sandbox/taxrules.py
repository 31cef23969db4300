"""Which tax rates a sales voucher may use: the rates valid on its *relevant date*.

Lexware takes the relevant date from the shipping conditions (period end for *period types, the shipping date
for service/delivery, else the voucher date) and allows 0/5/16 % during the 2020 reduction, 0/7/19 % otherwise.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sandbox.clock import BERLIN

PERIOD_SHIPPING_TYPES = frozenset({"serviceperiod", "deliveryperiod"})
DATED_SHIPPING_TYPES = frozenset({"service", "delivery"})
SHIPPING_TYPES = PERIOD_SHIPPING_TYPES | DATED_SHIPPING_TYPES | {"none"}

REDUCED_PERIOD = (date(2020, 7, 1), date(2020, 12, 31))
REDUCED_RATES = frozenset({Decimal(0), Decimal(5), Decimal(16)})
STANDARD_RATES = frozenset({Decimal(0), Decimal(7), Decimal(19)})


def relevant_date(voucher_date: datetime, shipping_type: str | None,
                  shipping_date: datetime | None, shipping_end_date: datetime | None) -> date:
    """The Berlin calendar day whose tax rates apply to the voucher."""
    if shipping_type in PERIOD_SHIPPING_TYPES and shipping_end_date is not None:
        chosen = shipping_end_date
    elif shipping_type in DATED_SHIPPING_TYPES and shipping_date is not None:
        chosen = shipping_date
    else:
        chosen = voucher_date
    return chosen.astimezone(BERLIN).date()


def valid_tax_rates(day: date) -> frozenset[Decimal]:
    start, end = REDUCED_PERIOD
    return REDUCED_RATES if start <= day <= end else STANDARD_RATES
