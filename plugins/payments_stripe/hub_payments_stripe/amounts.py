"""Stripe's integer minor units <-> :class:`hub.Money`, exactly.

Stripe's exponent is not always ISO 4217's: it lists its own zero-decimal currencies (JPY, KRW,
UGX, ...), takes ISK as two-decimal amounts that must be whole krónur, and three-decimal
currencies (KWD, BHD, ...) with the last digit 0. An amount that cannot be said exactly in
Stripe's units is refused, never rounded behind the caller's back.
"""

from __future__ import annotations

from decimal import Decimal

from hub import Money

__all__ = ["stripe_exponent", "to_minor_units", "from_minor_units", "AmountNotRepresentable"]

#: https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL = frozenset({
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
})
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
#: Two-decimal in the API but only whole units may be charged (Stripe's "special cases").
WHOLE_UNITS_ONLY = frozenset({"ISK"})


class AmountNotRepresentable(ValueError):
    """The amount has more precision than Stripe accepts in that currency; round it first."""


def stripe_exponent(currency: str) -> int:
    """Decimal places Stripe's integer ``amount`` carries for ``currency`` (ISO code, any case)."""
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_minor_units(money: Money) -> int:
    """``Money('12.34', 'USD')`` -> 1234; ``Money('500', 'JPY')`` -> 500. Refuses what Stripe
    could not charge exactly (``Money('1.005', 'USD')``, ``Money('0.0015', 'KWD')``)."""
    exponent = stripe_exponent(money.currency)
    scaled = money.amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise AmountNotRepresentable(
            f"{money!r} has more decimals than Stripe takes for {money.currency} "
            f"({exponent}); round it with Money.rounded() first")
    units = int(scaled)
    if money.currency in THREE_DECIMAL and units % 10:
        raise AmountNotRepresentable(
            f"Stripe charges {money.currency} only in multiples of 0.010; {money!r} is not one")
    if money.currency in WHOLE_UNITS_ONLY and units % 100:
        raise AmountNotRepresentable(
            f"Stripe charges {money.currency} only in whole units; {money!r} is not one")
    return units


def from_minor_units(units: int, currency: str) -> Money:
    """Stripe's ``amount`` and ``currency`` (lower case on the wire) as exact Money."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise TypeError(f"Stripe amounts are integers, got {units!r}")
    code = currency.upper()
    return Money(Decimal(units).scaleb(-stripe_exponent(code)), code)
