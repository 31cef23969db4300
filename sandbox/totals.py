"""Invoice totals as Lexware computes them: per tax rate ("Spaltenmethode"), not per line.

Line amounts are rounded to cents, summed per rate, and the tax is rounded once per rate. Gross invoices sum
gross per rate and derive the net. A source system that rounds tax per line differs by a cent now and then;
the sandbox must show that difference, not hide it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def round_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PricedLine:
    """A line with a price: ``unit_amount`` is the net or the gross unit price, depending on the tax type."""

    quantity: Decimal
    unit_amount: Decimal
    tax_rate: Decimal
    discount_percentage: Decimal = Decimal(0)

    @property
    def amount(self) -> Decimal:
        """``lineItemAmount``: quantity x unit price less the line discount, rounded to cents."""
        return round_cents(self.quantity * self.unit_amount * (HUNDRED - self.discount_percentage) / HUNDRED)


@dataclass(frozen=True)
class TaxAmount:
    tax_rate: Decimal
    net_amount: Decimal
    tax_amount: Decimal


@dataclass(frozen=True)
class Totals:
    total_net: Decimal
    total_gross: Decimal
    total_tax: Decimal
    tax_amounts: tuple[TaxAmount, ...]


def compute_totals(lines: list[PricedLine], gross_prices: bool) -> Totals:
    """Totals per tax rate; ``gross_prices`` for taxType gross (unit prices include tax)."""
    sums: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in lines:
        sums[line.tax_rate] += line.amount
    columns = []
    for rate in sorted(sums):
        column_sum = sums[rate]
        if gross_prices:
            net = round_cents(column_sum * HUNDRED / (HUNDRED + rate))
            columns.append(TaxAmount(rate, net, column_sum - net))
        else:
            columns.append(TaxAmount(rate, column_sum, round_cents(column_sum * rate / HUNDRED)))
    total_net = sum((c.net_amount for c in columns), Decimal(0))
    total_tax = sum((c.tax_amount for c in columns), Decimal(0))
    return Totals(total_net=total_net, total_gross=total_net + total_tax, total_tax=total_tax,
                  tax_amounts=tuple(columns))
