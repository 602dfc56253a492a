"""Money: an exact Decimal amount in one ISO 4217 currency.

Rules (DESIGN.md, "Money"):

- amounts are built from ``str``, ``int`` or ``Decimal``, never from ``float``;
- adding, subtracting or comparing two currencies is a ``TypeError``;
- rounding is explicit (:meth:`Money.rounded`) and per currency minor unit, half-up by default,
  because that is what invoices and tax authorities expect;
- :meth:`Money.allocate` splits by the largest-remainder method, so the parts always add back to
  the whole to the last minor unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Iterable, Sequence

__all__ = ["Money", "CurrencyMismatch", "minor_unit", "quantum", "is_whole_minor_units", "to_decimal",
           "STORAGE_PLACES", "decimal_places", "shown", "shown_figure", "plain_figure", "as_typed",
           "not_money"]

#: Places kept in storage and in unit prices: four, so per-unit prices like 0.0125 stay exact.
STORAGE_PLACES = 4


class CurrencyMismatch(TypeError):
    """Two amounts in different currencies were combined; convert one of them explicitly first."""


@lru_cache(maxsize=None)
def minor_unit(currency: str) -> int:
    """Number of decimal places of ``currency``'s minor unit (2 for USD, 0 for JPY, 3 for KWD).

    The one table of the hub is Babel's (CLDR ``currencyData``), because Babel prints every
    amount on the PDFs: an amount the ledger stores is then always an amount the PDF shows
    exactly (CLDR gives IQD and RSD no decimals, as they are used, where ISO 4217 lists 3 and
    2). Unknown codes have two decimals, as in CLDR.
    """
    # Imported here: Babel's locale data is only read when an amount is first checked.
    from babel.numbers import get_currency_precision

    return get_currency_precision(currency)


@lru_cache(maxsize=None)
def _not_money_codes() -> frozenset[str]:
    # ISO 4217 keeps the X codes outside any country for things that are not money: XXX ("no
    # currency"), XTS (testing), the metals XAU/XAG/XPD/XPT, the SDR (XDR), XSU, XUA and the
    # bond-market units. CLDR lists them as legal tender nowhere; the X codes that are money
    # (XAF, XOF, XCD, XPF, XCG) are tender in their territories, so they stay. Other
    # non-tender codes (fund codes such as CLF, offshore CNH) are left alone on purpose.
    from babel.core import get_global

    tender = {code for items in get_global("territory_currencies").values()
              for code, _start, _end, is_tender in items if is_tender}
    return frozenset(code for items in get_global("territory_currencies").values()
                     for code, *_ in items if code.startswith("X") and code not in tender)


def not_money(code: str) -> str | None:
    """What ``code`` names when it is an ISO 4217 code for something that is not money
    (``'Unknown Currency'`` for XXX, ``'Gold'`` for XAU), else None. An invoice cannot be
    in one of these."""
    if code not in _not_money_codes():
        return None
    from babel.numbers import get_currency_name

    return get_currency_name(code, locale="en")


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency``: ``Decimal('0.01')`` for USD, ``1`` for JPY."""
    return Decimal(1).scaleb(-minor_unit(currency))


def is_whole_minor_units(amount: Decimal, currency: str) -> bool:
    """True when ``amount`` is a whole number of ``currency``'s minor unit (10.00 or 10.0000
    USD yes, 10.005 USD no; 500 JPY yes, 0.5 JPY no)."""
    return amount == amount.quantize(quantum(currency), rounding=ROUND_DOWN)


def shown(amount: object, currency: str) -> str:
    """``amount`` as a message shows it: in ``currency``'s minor unit, with the code, written
    as :class:`Money` prints (``1,234.50 USD``; the stored ``10.0000`` is ``10.00 USD``). An
    amount finer than the minor unit keeps its decimals: a message never rounds one away."""
    value = to_decimal(amount)
    if is_whole_minor_units(value, currency):
        value = value.quantize(quantum(currency))
    return f"{value:,} {currency}"


def shown_figure(amount: object, currency: str) -> str:
    """``amount`` for a table whose currency has a column of its own: grouped, in
    ``currency``'s minor unit (``1,234.50`` for USD, ``1,500`` for JPY). A unit price finer than
    the minor unit keeps the decimals it uses, without the stored trailing zeros (``0.0125``
    USD; ``0.5`` JPY, stored ``0.5000``)."""
    value = to_decimal(amount)
    if is_whole_minor_units(value, currency):
        return f"{value.quantize(quantum(currency)):,}"
    return f"{value.normalize():,}"  # has a fraction finer than the minor unit: no exponent


def plain_figure(amount: object, currency: str) -> str:
    """``amount`` as plain text in ``currency``'s minor unit, as the API writes amounts:
    ``946.00`` for the stored ``946.0000`` USD, ``1500`` JPY, ``1.250`` KWD. An amount finer
    than the minor unit keeps its decimals, as :func:`shown` does: an answer never rounds one
    away (none is stored; see :mod:`hub.db.minor_units`)."""
    value = to_decimal(amount)
    if is_whole_minor_units(value, currency):
        value = value.quantize(quantum(currency))
    return format(value, "f")


def as_typed(value: object) -> str:
    """A refused value as a message shows it: in quotes as it was typed (``'1E+400'``), a
    Decimal as its text rather than its repr (``Decimal('1E+400')``)."""
    return f"'{value}'" if isinstance(value, Decimal) else repr(value)


def to_decimal(value: object) -> Decimal:
    """Turn ``str``/``int``/``Decimal`` into a ``Decimal``; refuse ``float`` and junk loudly."""
    if value.__class__ is Decimal and value.is_finite():
        return value  # the common case, first: a billing run converts every amount it stores
    if isinstance(value, bool):
        raise TypeError("a bool is not an amount")
    if isinstance(value, float):
        raise TypeError(
            f"float {value!r} refused as an amount: pass a string such as '{value}' "
            "so no binary rounding error can slip in"
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, str)):
        try:
            result = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise ValueError(f"{as_typed(value)} is not a number; write amounts like '12.50'"
                             ) from None
    else:
        raise TypeError(f"{type(value).__name__} is not an amount; use str, int or Decimal")
    if not result.is_finite():
        raise ValueError(f"{as_typed(value)} is not a finite amount")
    return result


#: Codes already checked: every Money checks its currency, a billing run makes hundreds of
#: thousands, and an MSP bills in a handful of currencies.
_CHECKED_CODES: set[str] = set()


def decimal_places(value: Decimal) -> int:
    """How many decimal places ``value`` really uses (``1.50`` uses 1, ``2E+3`` uses 0)."""
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _check_currency(code: str) -> str:
    if code.__class__ is str and code in _CHECKED_CODES:
        return code
    if not (isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()):
        raise ValueError(f"{code!r} is not an ISO 4217 currency code; use three capitals like 'USD'")
    if code.__class__ is str and len(_CHECKED_CODES) < 1000:
        _CHECKED_CODES.add(code)
    return code


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency. ``Money("12.50", "USD")``."""

    amount: Decimal
    currency: str

    def __init__(self, amount: object, currency: str) -> None:
        object.__setattr__(self, "amount", to_decimal(amount))
        object.__setattr__(self, "currency", _check_currency(currency))

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> "Money":
        """Zero in ``currency``."""
        return cls(0, currency)

    @classmethod
    def sum(cls, items: Iterable["Money"], currency: str) -> "Money":
        """Sum of ``items``; ``currency`` names the result when ``items`` is empty."""
        total = cls.zero(currency)
        for item in items:
            total = total + item
        return total

    # -- arithmetic -----------------------------------------------------------------------------
    def _same(self, other: object) -> "Money":
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: "Money") -> "Money":
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def __abs__(self) -> "Money":
        return Money(abs(self.amount), self.currency)

    def __mul__(self, factor: object) -> "Money":
        if isinstance(factor, Money):
            raise TypeError("cannot multiply Money by Money")
        return Money(self.amount * to_decimal(factor), self.currency)

    __rmul__ = __mul__

    def __truediv__(self, divisor: object) -> "Money":
        if isinstance(divisor, Money):
            raise TypeError("dividing Money by Money is a ratio: use a.amount / b.amount")
        return Money(self.amount / to_decimal(divisor), self.currency)

    # -- comparison (same currency only) --------------------------------------------------------
    def __lt__(self, other: "Money") -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: "Money") -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: "Money") -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: "Money") -> bool:
        return self.amount >= self._same(other).amount

    def __bool__(self) -> bool:
        return bool(self.amount)

    @property
    def is_negative(self) -> bool:
        """True when below zero."""
        return self.amount < 0

    def max_zero(self) -> "Money":
        """This amount, or zero when it is negative (totals are never negative)."""
        return self if self.amount >= 0 else Money.zero(self.currency)

    # -- rounding and splitting -----------------------------------------------------------------
    def rounded(self, rounding: str = ROUND_HALF_UP) -> "Money":
        """Rounded to the currency's minor unit (half-up unless told otherwise)."""
        return Money(self.amount.quantize(quantum(self.currency), rounding=rounding),
                     self.currency)

    def allocate(self, ratios: Sequence[object]) -> list["Money"]:
        """Split into parts proportional to ``ratios`` by largest remainder.

        The amount is first rounded to the minor unit; the parts are in minor units and add up to
        it exactly. Ties in remainders go to the earlier part, so results are deterministic.
        """
        weights = [to_decimal(r) for r in ratios]
        if not weights:
            raise ValueError("allocate needs at least one ratio")
        if any(w < 0 for w in weights):
            raise ValueError("ratios must not be negative")
        total_weight = sum(weights, Decimal(0))
        if total_weight == 0:
            raise ValueError("ratios must not all be zero")
        places = minor_unit(self.currency)
        whole = self.rounded()
        units = int(whole.amount.scaleb(places))
        sign = -1 if units < 0 else 1
        units = abs(units)
        exact = [Decimal(units) * w / total_weight for w in weights]
        floors = [int(e.to_integral_value(rounding=ROUND_DOWN)) for e in exact]
        left = units - sum(floors)
        order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
        for i in order[:left]:
            floors[i] += 1
        return [Money(Decimal(sign * f).scaleb(-places), self.currency) for f in floors]

    # -- presentation ---------------------------------------------------------------------------
    def __str__(self) -> str:
        return f"{self.rounded().amount:,} {self.currency}"

    def __repr__(self) -> str:
        return f"Money('{self.amount}', '{self.currency}')"
