"""Money: exact, single-currency, explicitly rounded, split by largest remainder."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.core.money import CurrencyMismatch, Money, minor_unit


def test_float_amount_is_refused_with_a_hint():
    with pytest.raises(TypeError, match="pass a string"):
        Money(12.5, "USD")


def test_float_factor_is_refused():
    with pytest.raises(TypeError):
        Money("1", "USD") * 1.5


def test_mixed_currencies_are_a_type_error():
    with pytest.raises(CurrencyMismatch):
        Money("1", "USD") + Money("1", "EUR")
    with pytest.raises(TypeError):
        Money("1", "USD") < Money("1", "EUR")


def test_bad_currency_code_says_what_to_use():
    with pytest.raises(ValueError, match="three capitals"):
        Money("1", "usd")


@pytest.mark.parametrize("currency,amount,expected", [
    ("USD", "1.005", "1.01"), ("USD", "2.675", "2.68"), ("JPY", "100.5", "101"),
    ("KWD", "1.0005", "1.001"), ("USD", "-1.005", "-1.01"),
])
def test_rounding_is_half_up_per_minor_unit(currency, amount, expected):
    assert Money(amount, currency).rounded().amount == Decimal(expected)


def test_minor_units():
    assert (minor_unit("USD"), minor_unit("JPY"), minor_unit("BHD")) == (2, 0, 3)


def test_allocate_three_ways_gives_the_extra_cent_to_the_first():
    parts = Money("10", "USD").allocate([1, 1, 1])
    assert [p.amount for p in parts] == [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]


def test_allocate_negative_amounts_keep_their_sign():
    parts = Money("-10", "USD").allocate([1, 2])
    assert sum(p.amount for p in parts) == Decimal("-10")
    assert [p.amount for p in parts] == [Decimal("-3.33"), Decimal("-6.67")]


def test_allocate_refuses_zero_or_negative_ratios():
    with pytest.raises(ValueError):
        Money("1", "USD").allocate([0, 0])
    with pytest.raises(ValueError):
        Money("1", "USD").allocate([1, -1])


def test_max_zero_keeps_totals_from_going_negative():
    assert Money("-5", "USD").max_zero() == Money("0", "USD")
    assert Money("5", "USD").max_zero() == Money("5", "USD")


amounts = st.decimals(min_value=Decimal("-999999999999999.9999"),
                      max_value=Decimal("999999999999999.9999"), places=4,
                      allow_nan=False, allow_infinity=False)
weights = st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(any)


@given(amount=amounts, ratios=weights)
def test_allocated_parts_always_add_back_to_the_rounded_whole(amount, ratios):
    money = Money(amount, "USD")
    parts = money.allocate(ratios)
    assert len(parts) == len(ratios)
    assert sum(p.amount for p in parts) == money.rounded().amount
    for part, ratio in zip(parts, ratios):
        if ratio == 0:
            assert part.amount == 0


@given(a=amounts, b=amounts)
def test_addition_is_exact(a, b):
    assert (Money(a, "EUR") + Money(b, "EUR")).amount == a + b
