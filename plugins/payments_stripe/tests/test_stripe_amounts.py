"""Stripe minor units <-> Money, exactly, for two-, zero- and three-decimal currencies."""

from decimal import Decimal

import pytest

from hub import Money
from hub_payments_stripe.amounts import AmountNotRepresentable, from_minor_units, to_minor_units


@pytest.mark.parametrize("amount, currency, units", [
    ("12.34", "USD", 1234), ("0.01", "EUR", 1), ("500", "JPY", 500), ("12000", "KRW", 12000),
    ("1.230", "KWD", 1230), ("500", "ISK", 50000), ("100000", "UGX", 100000),
    ("19999999.99", "USD", 1999999999),
])
def test_round_trip(amount, currency, units):
    assert to_minor_units(Money(amount, currency)) == units
    back = from_minor_units(units, currency.lower())
    assert back == Money(amount, currency) and back.currency == currency
    assert isinstance(back.amount, Decimal)


def test_zero_decimal_amount_is_not_divided_by_100():
    assert from_minor_units(1500, "jpy").amount == Decimal("1500")


@pytest.mark.parametrize("amount, currency", [
    ("1.005", "USD"), ("10.5", "JPY"), ("1.2345", "KWD"), ("1.231", "KWD"), ("500.5", "ISK")])
def test_amounts_stripe_cannot_take_are_refused_not_rounded(amount, currency):
    with pytest.raises(AmountNotRepresentable, match="round|multiples|whole"):
        to_minor_units(Money(amount, currency))


def test_non_integer_units_refused():
    with pytest.raises(TypeError):
        from_minor_units("12", "usd")
