"""The total Lexware Office will show for an invoice draft, computed the way Lexware computes it.

Lexware computes taxes per tax rate (the column method, "Spaltenmethode"): each line's amount is rounded to
cents, the amounts are summed per rate, and the tax is rounded once per rate. A source system that rounds the
tax of every line can show a total a cent or two apart. The office should hear about that before the
accountant does, so the difference becomes a warning on the document (it is still sent).

Only ``Decimal`` on this path: amounts are read from the request body's JSON numbers through their shortest
decimal text, which is exactly the decimal the source stored (at most four places, checked by validation).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def lexware_gross_total(payload: dict[str, Any]) -> Decimal:
    """The gross total of an invoice request body as Lexware Office computes it (column method)."""
    gross_prices = (payload.get("taxConditions") or {}).get("taxType") == "gross"
    per_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for item in payload.get("lineItems") or []:
        price = item.get("unitPrice")
        if item.get("type") == "text" or not price:
            continue
        unit = _decimal(price["grossAmount"] if gross_prices else price["netAmount"])
        discount = _decimal(item.get("discountPercentage") or 0)
        amount = _cents(_decimal(item["quantity"]) * unit * (HUNDRED - discount) / HUNDRED)
        per_rate[_decimal(price["taxRatePercentage"])] += amount
    if gross_prices:
        return sum(per_rate.values(), Decimal(0))
    return sum((net + _cents(net * rate / HUNDRED) for rate, net in per_rate.items()), Decimal(0))


def euro(amount: Decimal) -> str:
    """``1234.5`` -> ``1.234,50 €`` (German notation)."""
    text = f"{_cents(amount):,.2f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".") + " €"


def total_difference(payload: dict[str, Any], source_total: Decimal) -> str | None:
    """A warning (German, then English) when Lexware will show another total than the source; else None."""
    lexware = lexware_gross_total(payload)
    if lexware == _cents(source_total):
        return None
    return (f"Lexware Office wird {euro(lexware)} anzeigen, Ihr System zeigt {euro(source_total)} "
            "(Steuer je Steuersatz gerundet); der Entwurf wird trotzdem gesendet. / "
            f"Lexware Office will show {euro(lexware)}, your system shows {euro(source_total)}.")
