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


def test_one_minor_unit_table_the_hubs():
    """The plugin's exponent is hub.minor_unit (Babel's table, which prints the PDFs), except
    Stripe's special case ISK, sent with two decimals but charged in whole krónur."""
    from hub import minor_unit
    from hub_payments_stripe.amounts import stripe_exponent

    for code in ("USD", "EUR", "JPY", "KRW", "KWD", "BHD", "IQD", "RSD", "MGA", "UGX"):
        assert stripe_exponent(code) == minor_unit(code), code
    assert (stripe_exponent("ISK"), minor_unit("ISK")) == (2, 0)
    assert to_minor_units(Money("1500", "IQD")) == 1500  # CLDR: no decimals
    with pytest.raises(AmountNotRepresentable):
        to_minor_units(Money("1.5", "IQD"))
