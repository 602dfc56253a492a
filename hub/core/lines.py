"""Invoice line arithmetic: quantity × unit price (× pro-rata fraction), tax, totals, and
future items (seed 002).

Rounding is per line to the currency's minor unit, then lines are summed, so the invoice adds up
exactly as printed. A *future item* is a debit (positive) or credit (negative) amount waiting to
be taken into the next recurring or one-time invoice; credits are taken only as far as the
invoice total stays at or above zero — "the invoice total may be zero, but not negative" — and
what is left of a credit stays a future item for a later invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Iterable, NamedTuple, Sequence

from hub.core.money import Money, quantum, to_decimal
from hub.core.prorata import scale

__all__ = ["LineKind", "PricedLine", "price_line", "Totals", "totals", "FutureItemRef",
           "TakenItem", "take_future_items"]


class LineKind:
    """Recurring line types (seed 000), as stored in ``InvoiceLine.line_type``."""

    standard = "standard"
    asset_counter = "asset_counter"
    user_counter = "user_counter"
    vendor_usage = "vendor_usage"
    COUNTERS = {"asset_counter": "assets", "user_counter": "users", "vendor_usage": "usage"}


class PricedLine(NamedTuple):
    """A line's figures: ``amount`` = quantity × unit price × fraction, rounded; tax on it."""

    quantity: Decimal
    unit_price: Money
    fraction: Fraction
    amount: Money
    tax_rate: Decimal
    tax: Money

    @property
    def gross(self) -> Money:
        """Amount plus tax."""
        return self.amount + self.tax


def _no_negative_zero(value: Money) -> Money:
    # Decimal keeps the sign of zero (-10 × 0 % tax is -0.00); invoices must never print it.
    return Money(abs(value.amount), value.currency) if not value.amount else value


def price_line(unit_price: Money, quantity: object, tax_rate: object = "0",
               fraction: Fraction = Fraction(1)) -> PricedLine:
    """Price one line. ``tax_rate`` is a percentage (``"20"`` for 20 %)."""
    qty = quantity if type(quantity) is Decimal else to_decimal(quantity)
    rate = tax_rate if type(tax_rate) is Decimal else to_decimal(tax_rate)
    # A billing run prices the same few (price, quantity, rate, fraction) combinations for
    # thousands of organisations: the rounded amount and tax are remembered by value. Equal
    # Decimals written differently (3 and 3.00) share an entry, which is right: quantizing
    # gives both the same amount, written alike; the line keeps its own quantity, price and
    # rate as given. (functools.lru_cache would hash the Fraction in Python on every call.)
    key = (unit_price.amount, unit_price.currency, qty, rate, fraction.numerator,
           fraction.denominator)
    figures = _PRICED.get(key)
    if figures is None:
        figures = _amount_and_tax(unit_price, qty, rate, fraction)
        if len(_PRICED) >= _PRICED_KEPT:
            _PRICED.clear()
        _PRICED[key] = figures
    return PricedLine(qty, unit_price, fraction, figures[0], rate, figures[1])


#: Rounded (amount, tax) by the values priced (see price_line); at most _PRICED_KEPT kept.
_PRICED: dict[tuple, tuple[Money, Money]] = {}
_PRICED_KEPT = 4096


def _amount_and_tax(unit_price: Money, qty: Decimal, rate: Decimal, fraction: Fraction
                    ) -> tuple[Money, Money]:
    if rate < 0:
        raise ValueError("a tax rate cannot be negative")
    # Same rounding as Money.rounded() (half-up to the minor unit), done on Decimals directly.
    quantum = _quantum(unit_price.currency)
    amount = scale(unit_price.amount * qty, fraction).quantize(quantum, ROUND_HALF_UP)
    tax = (amount * rate / 100).quantize(quantum, ROUND_HALF_UP)
    return (_no_negative_zero(Money(amount, unit_price.currency)),
            _no_negative_zero(Money(tax, unit_price.currency)))


@lru_cache(maxsize=64)
def _quantum(currency: str) -> Decimal:
    return quantum(currency)


@dataclass(frozen=True)
class Totals:
    """Subtotal (before tax), tax and total of an invoice."""

    subtotal: Money
    tax: Money
    total: Money


def totals(lines: Iterable[tuple[Money, Money]], currency: str) -> Totals:
    """Totals from ``(amount, tax)`` pairs."""
    subtotal = Money.zero(currency)
    tax = Money.zero(currency)
    for amount, line_tax in lines:
        subtotal = subtotal + amount
        tax = tax + line_tax
    return Totals(subtotal, tax, subtotal + tax)


@dataclass(frozen=True)
class FutureItemRef:
    """A waiting future item: ``amount`` > 0 is a debit, < 0 a credit."""

    id: int
    description: str
    amount: Money


@dataclass(frozen=True)
class TakenItem:
    """How much of a future item an invoice takes, and what is left for later."""

    item: FutureItemRef
    taken: Money
    left: Money


def take_future_items(invoice_total: Money, items: Sequence[FutureItemRef]) -> list[TakenItem]:
    """Take ``items`` into an invoice whose lines total ``invoice_total`` (tax included).

    Debits are all taken; credits are taken oldest first (the order given) until the total
    reaches zero, the last one partly if need be; a credit that finds nothing left to reduce is
    not taken at all and waits for the next invoice.
    """
    currency = invoice_total.currency
    running = invoice_total
    taken: list[TakenItem] = []
    for item in items:
        if item.amount.currency != currency:
            raise ValueError(f"future item {item.id} is in {item.amount.currency}, "
                             f"the invoice in {currency}")
        if not item.amount.is_negative:
            running = running + item.amount
            taken.append(TakenItem(item, item.amount, Money.zero(currency)))
    for item in items:
        if item.amount.is_negative:
            room = running.max_zero()
            use = -min(room, -item.amount)
            if not use:
                continue
            running = running + use
            taken.append(TakenItem(item, use, item.amount - use))
    return taken
