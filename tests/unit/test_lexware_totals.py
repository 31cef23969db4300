"""The total Lexware Office shows, computed here (column method, Decimal) and by the sandbox's own model."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from lexoffice.lexware_totals import euro, lexware_gross_total, total_difference
from sandbox.totals import PricedLine, compute_totals


def _payload(lines: list[tuple[str, str, str, str]], tax_type: str) -> dict:
    key = "grossAmount" if tax_type == "gross" else "netAmount"
    return {"taxConditions": {"taxType": tax_type}, "lineItems": [
        {"type": "custom", "name": "x", "quantity": float(q), "discountPercentage": float(d),
         "unitPrice": {"currency": "EUR", key: float(p), "taxRatePercentage": float(r)}}
        for q, p, r, d in lines] + [{"type": "text", "name": "Hinweis"}]}


@pytest.mark.parametrize("tax_type", ["net", "gross"])
def test_agrees_with_the_sandboxs_model_of_lexware_on_random_invoices(tax_type: str) -> None:
    rng = random.Random(17)
    for _ in range(500):
        lines = [(str(rng.choice([1, 2, 3, Decimal("0.5"), Decimal("1.25")])),
                  str(Decimal(rng.randint(1, 50_000)) / 100), rng.choice(["0", "7", "19"]),
                  rng.choice(["0", "0", "10", "2.5"])) for _ in range(rng.randint(1, 6))]
        expected = compute_totals([PricedLine(Decimal(q), Decimal(p), Decimal(r), Decimal(d))
                                   for q, p, r, d in lines], gross_prices=tax_type == "gross").total_gross
        assert lexware_gross_total(_payload(lines, tax_type)) == expected, lines


def test_a_source_that_rounds_per_line_gets_a_german_warning() -> None:
    payload = _payload([("1", "91.3", "19", "0")] * 3, "net")
    assert lexware_gross_total(payload) == Decimal("325.94")
    message = total_difference(payload, Decimal("325.95"))
    assert message is not None
    assert message.startswith("Lexware Office wird 325,94 € anzeigen, Ihr System zeigt 325,95 €")
    assert total_difference(payload, Decimal("325.94")) is None
    assert euro(Decimal("1234.5")) == "1.234,50 €"


def test_never_a_float_in_the_result() -> None:
    assert isinstance(lexware_gross_total(_payload([("2", "49.5", "19", "0")], "net")), Decimal)
