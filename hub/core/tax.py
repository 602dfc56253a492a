"""Tax on a document's lines, the way accounting systems work it out.

Prices are either **exclusive** (a line's amount is net; tax is added on top) or **inclusive**
(a line's amount is what the customer pays; the tax is the part of it ``rate / (100 + rate)``).
Tax is rounded half-up to the currency's minor unit either

- **per line** (Xero): each line's tax is rounded on its own; or
- **per document** (QuickBooks Online): the lines of one rate are added up and their tax is
  rounded once; it is then split back over those lines by largest remainder, so every stored
  line tax is in minor units and the lines add up to the document's tax exactly.

The two can differ by a cent or more on the same lines; a document must be computed the way
the accounting system it is synced to computes it, or the two disagree on its total.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Sequence

from hub.core.money import Money, to_decimal

__all__ = ["TaxRounding", "line_taxes", "DocumentTotals", "document_totals", "tax_share",
           "unit_price_for", "UNIT_PRICE_PLACES"]

#: a unit price converted between inclusive and exclusive is kept to this many places
UNIT_PRICE_PLACES = Decimal("0.0001")


class TaxRounding(StrEnum):
    """Where tax is rounded: per line (Xero) or per rate over the document (QuickBooks)."""

    line = "line"
    document = "document"


def tax_share(rate: object, inclusive: bool) -> Decimal:
    """The part of a line amount that is tax: ``rate/100``, or ``rate/(100+rate)`` when the
    amount includes tax. ``rate`` is a percentage."""
    value = to_decimal(rate)
    if value < 0:
        raise ValueError("a tax rate cannot be negative")
    return value / (100 + value) if inclusive else value / 100


def line_taxes(lines: Sequence[tuple[Money, object]], *, inclusive: bool,
               rounding: TaxRounding | str = TaxRounding.line) -> list[Money]:
    """The tax of each ``(amount, rate %)`` line, amounts as printed (net, or gross when
    ``inclusive``), rounded as ``rounding`` says (see the module docstring)."""
    rounding = TaxRounding(rounding)
    if rounding is TaxRounding.line:
        return [(amount * tax_share(rate, inclusive)).rounded() for amount, rate in lines]
    taxes: list[Money | None] = [None] * len(lines)
    groups: dict[Decimal, list[int]] = {}
    for index, (_, rate) in enumerate(lines):
        groups.setdefault(to_decimal(rate).normalize(), []).append(index)
    for rate, indexes in groups.items():
        currency = lines[indexes[0]][0].currency
        amounts = [lines[i][0] for i in indexes]
        total = (Money.sum(amounts, currency) * tax_share(rate, inclusive)).rounded()
        weights = [abs(a.amount) for a in amounts]
        if not total or not any(weights):
            parts = [Money.zero(currency)] * len(indexes)
        else:
            parts = total.allocate(weights)
        for i, part in zip(indexes, parts):
            taxes[i] = part
    return [t for t in taxes if t is not None]


def unit_price_for(unit: Money, rate: object, *, includes_tax: bool,
                   inclusive_document: bool) -> Money:
    """A product's unit price as a document shows it: unchanged when both are inclusive or
    both exclusive; otherwise tax is taken out (``× 100 / (100 + rate)``) or put in
    (``× (100 + rate) / 100``), half-up to :data:`UNIT_PRICE_PLACES`. (An invoice has one
    amount type in Xero and QuickBooks alike, so a gross product price on a net invoice is
    converted, and the line may then differ from the printed price by a cent.)"""
    if includes_tax == inclusive_document:
        return unit
    factor = 1 + tax_share(rate, inclusive=False)
    value = unit.amount * factor if inclusive_document else unit.amount / factor
    return Money(value.quantize(UNIT_PRICE_PLACES, ROUND_HALF_UP), unit.currency)


@dataclass(frozen=True)
class DocumentTotals:
    """A document's net subtotal, tax and total (what the customer pays)."""

    subtotal: Money
    tax: Money
    total: Money


def document_totals(amounts: Sequence[Money], taxes: Sequence[Money], currency: str, *,
                    inclusive: bool) -> DocumentTotals:
    """Totals from the lines' amounts (as printed) and their taxes."""
    amount = Money.sum(amounts, currency)
    tax = Money.sum(taxes, currency)
    subtotal = amount - tax if inclusive else amount
    return DocumentTotals(subtotal, tax, subtotal + tax)
