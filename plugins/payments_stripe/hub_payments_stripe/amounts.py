"""Stripe's integer minor units <-> :class:`hub.Money`, exactly.

Stripe's exponent is not always ISO 4217's: it lists its own zero-decimal currencies (JPY, KRW,
UGX, ...), takes ISK as two-decimal amounts that must be whole krónur, and three-decimal
currencies (KWD, BHD, ...) with the last digit 0. An amount that cannot be said exactly in
Stripe's units is refused, never rounded behind the caller's back.
"""

from __future__ import annotations

from decimal import Decimal

from hub import Money, minor_unit

__all__ = ["stripe_exponent", "to_minor_units", "from_minor_units", "AmountNotRepresentable"]

#: The exponent of Stripe's integer ``amount`` is the hub's minor unit (:func:`hub.minor_unit`,
#: which agrees with Stripe's zero-decimal and three-decimal lists), except for Stripe's
#: "special cases": currencies it takes as two-decimal amounts although only whole units are
#: charged (https://docs.stripe.com/currencies#special-cases).
WIRE_TWO_DECIMALS = frozenset({"ISK"})
#: Three-decimal currencies Stripe charges only in multiples of 10 minor units.
THREE_DECIMAL_ROUNDED = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


class AmountNotRepresentable(ValueError):
    """The amount has more precision than Stripe accepts in that currency; round it first."""


def stripe_exponent(currency: str) -> int:
    """Decimal places Stripe's integer ``amount`` carries for ``currency`` (ISO code, any case)."""
    code = currency.upper()
    if code in WIRE_TWO_DECIMALS:
        return 2
    return minor_unit(code)


def to_minor_units(money: Money) -> int:
    """``Money('12.34', 'USD')`` -> 1234; ``Money('500', 'JPY')`` -> 500. Refuses what Stripe
    could not charge exactly (``Money('1.005', 'USD')``, ``Money('0.0015', 'KWD')``)."""
    places = minor_unit(money.currency)
    whole = money.amount.scaleb(places)
    if whole != whole.to_integral_value():
        raise AmountNotRepresentable(
            f"{money!r} is finer than {money.currency}'s minor unit ({places} decimals); "
            "round it with Money.rounded() first")
    units = int(money.amount.scaleb(stripe_exponent(money.currency)))
    if money.currency in THREE_DECIMAL_ROUNDED and units % 10:
        raise AmountNotRepresentable(
            f"Stripe charges {money.currency} only in multiples of 0.010; {money!r} is not one")
    return units


def from_minor_units(units: int, currency: str) -> Money:
    """Stripe's ``amount`` and ``currency`` (lower case on the wire) as exact Money."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise TypeError(f"Stripe amounts are integers, got {units!r}")
    code = currency.upper()
    return Money(Decimal(units).scaleb(-stripe_exponent(code)), code)
