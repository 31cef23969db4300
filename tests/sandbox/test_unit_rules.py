"""Pure-logic pieces of the sandbox, tested directly: tax-rate dates, column totals, token bucket, search."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from sandbox.clock import parse_finance_datetime, parse_voucher_datetime
from sandbox.ratelimit import TokenBucket
from sandbox.search import decode_search_value, like_matcher
from sandbox.taxrules import relevant_date, valid_tax_rates
from sandbox.totals import PricedLine, compute_totals

D = Decimal


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- relevant date and tax rates ------------------------------------------------------------------------

def test_relevant_date_is_voucher_date_without_shipping_date() -> None:
    assert relevant_date(ts("2020-06-30T10:00:00+02:00"), "none", None, None) == date(2020, 6, 30)


def test_relevant_date_is_shipping_date_for_service_and_delivery() -> None:
    for shipping_type in ("service", "delivery"):
        day = relevant_date(ts("2020-06-30T10:00:00+02:00"), shipping_type, ts("2020-07-02T00:00:00+02:00"), None)
        assert day == date(2020, 7, 2)


def test_relevant_date_is_period_end_for_period_types() -> None:
    for shipping_type in ("serviceperiod", "deliveryperiod"):
        day = relevant_date(ts("2021-01-05T00:00:00+01:00"), shipping_type, ts("2020-06-01T00:00:00+02:00"),
                            ts("2020-12-31T00:00:00+01:00"))
        assert day == date(2020, 12, 31)


def test_relevant_date_is_the_berlin_day() -> None:
    # 22:30 UTC on 30 June 2020 is already 1 July in Berlin.
    assert relevant_date(ts("2020-06-30T22:30:00+00:00"), None, None, None) == date(2020, 7, 1)


@pytest.mark.parametrize(("day", "rates"), [
    (date(2020, 6, 30), {0, 7, 19}),
    (date(2020, 7, 1), {0, 5, 16}),
    (date(2020, 12, 31), {0, 5, 16}),
    (date(2021, 1, 1), {0, 7, 19}),
])
def test_valid_tax_rates_follow_the_2020_reduction(day: date, rates: set[int]) -> None:
    assert valid_tax_rates(day) == {D(r) for r in rates}


# --- totals -----------------------------------------------------------------------------------------------

def test_net_totals_round_tax_once_per_rate_not_per_line() -> None:
    # Per line 1.01 x 19 % = 0.1919 -> 0.19, three lines 0.57; per column 3.03 x 19 % = 0.5757 -> 0.58.
    lines = [PricedLine(D(1), D("1.01"), D(19)) for _ in range(3)] + [PricedLine(D(2), D("10.00"), D(7))]
    totals = compute_totals(lines, gross_prices=False)
    assert [(t.tax_rate, t.net_amount, t.tax_amount) for t in totals.tax_amounts] == [
        (D(7), D("20.00"), D("1.40")), (D(19), D("3.03"), D("0.58"))]
    assert (totals.total_net, totals.total_tax, totals.total_gross) == (D("23.03"), D("1.98"), D("25.01"))


def test_gross_totals_derive_net_per_rate() -> None:
    lines = [PricedLine(D(1), D("1.19"), D(19)) for _ in range(3)]
    totals = compute_totals(lines, gross_prices=True)
    assert (totals.total_gross, totals.total_net, totals.total_tax) == (D("3.57"), D("3.00"), D("0.57"))


def test_line_amount_applies_discount_and_rounds_half_up() -> None:
    assert PricedLine(D(2), D("13.4"), D(19), D(50)).amount == D("13.40")
    assert PricedLine(D("0.5"), D("0.05"), D(19)).amount == D("0.03")  # 0.025 -> 0.03


# --- token bucket -----------------------------------------------------------------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_has_no_burst_by_default() -> None:
    """Lexware documents no burst: the safe assumption is that a second request within 0.5 s is refused."""
    bucket = TokenBucket.per_second(2.0, clock=FakeClock())
    assert [bucket.try_take() for _ in range(2)] == [True, False]


def test_bucket_with_a_burst_allows_that_many_at_once() -> None:
    bucket = TokenBucket.per_second(2.0, burst=2, clock=FakeClock())
    assert [bucket.try_take() for _ in range(3)] == [True, True, False]


def test_bucket_refills_two_tokens_per_second() -> None:
    clock = FakeClock()
    bucket = TokenBucket.per_second(2.0, clock=clock)
    assert bucket.try_take()
    clock.now += 0.49
    assert not bucket.try_take()
    clock.now += 0.01
    assert bucket.try_take()
    assert not bucket.try_take()


def test_pacing_slower_than_the_rate_by_more_than_the_jitter_is_never_refused() -> None:
    """Requests 0.52 s apart with up to +-10 ms jitter: each gap is at least 0.5 s."""
    clock = FakeClock()
    bucket = TokenBucket.per_second(2.0, clock=clock)
    jitter = [0.0, 0.01, -0.01, 0.005, -0.01, 0.01, -0.005, 0.0] * 25
    start = clock.now
    for i, j in enumerate(jitter):
        clock.now = start + i * 0.52 + j
        assert bucket.try_take(), f"request {i} refused"


def test_pacing_exactly_at_the_rate_with_jitter_is_refused_sometimes() -> None:
    """Without a burst, exact 2/s pacing does not survive jitter: the client must keep a margin."""
    clock = FakeClock()
    bucket = TokenBucket.per_second(2.0, clock=clock)
    jitter = [0.0, 0.04, -0.03, 0.02]
    start = clock.now
    taken = []
    for i, j in enumerate(jitter):
        clock.now = start + i * 0.5 + j
        taken.append(bucket.try_take())
    assert taken == [True, True, False, True]


def test_bucket_does_not_store_more_than_its_capacity() -> None:
    clock = FakeClock()
    bucket = TokenBucket.per_second(2.0, burst=2, clock=clock)
    clock.now += 60
    assert [bucket.try_take() for _ in range(3)] == [True, True, False]


def test_bucket_without_rate_is_unlimited() -> None:
    bucket = TokenBucket.per_second(None, clock=FakeClock())
    assert all(bucket.try_take() for _ in range(100))


# --- search strings and datetime formats -------------------------------------------------------------------

def test_like_matcher_is_case_insensitive_substring_with_wildcards() -> None:
    assert like_matcher("muster")("Inge Musterfrau")
    assert like_matcher("m_ster")("Inge Mustermann")
    assert like_matcher("inge%frau")("Inge Musterfrau")
    assert not like_matcher("m_ster")("Inge Mster")
    assert like_matcher(r"100\%")("100% Bio") and not like_matcher(r"100\%")("1000 Bio")


def test_search_values_are_html_decoded_and_bare_specials_match_nothing() -> None:
    assert decode_search_value("Bike &amp; Ride") == "Bike & Ride"
    assert decode_search_value("Bike & Ride") is None
    assert decode_search_value("a<b") is None


@pytest.mark.parametrize("value", ["2025-03-01T00:00:00.000+01:00", "2025-03-01T00:00:00.000Z"])
def test_voucher_datetime_accepts_exact_format(value: str) -> None:
    assert parse_voucher_datetime(value) is not None


@pytest.mark.parametrize("value", ["2025-03-01T00:00:00+01:00", "2025-03-01", "2025-03-01T00:00:00.00+01:00",
                                   "2025-03-01 00:00:00.000+01:00", "2025-03-01T00:00:00.000+0100",
                                   "2025-02-30T00:00:00.000+01:00", 20250301])
def test_voucher_datetime_rejects_other_formats(value: object) -> None:
    assert parse_voucher_datetime(value) is None


def test_finance_datetime_has_no_milliseconds() -> None:
    assert parse_finance_datetime("2023-05-28T00:00:00+02:00") is not None
    assert parse_finance_datetime("2023-05-28T00:00:00.000+02:00") is None
