"""Money, quantity, percentage and date formats for one locale (Babel), as template filters.

Amounts are rounded half-up to the currency's minor unit by :class:`~hub.core.money.Money`
*before* Babel sees them (Babel would round half-even); unit prices keep up to four places,
because a per-unit price such as 0.0125 is exact and must print as such.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.numbers import format_currency, format_decimal, format_percent

from hub.core.money import Money, to_decimal
from hub.errors import ConfigError

__all__ = ["Formatter", "pdf_safe"]

# The PDF's standard fonts have no glyph for the narrow no-break space some locales group
# digits with (fr_FR: "1 234,50 €"); the ordinary no-break space looks the same and has one.
_PDF_REPLACEMENTS = str.maketrans({"\u202f": "\u00a0", "\u2009": "\u00a0"})


def pdf_safe(text: str) -> str:
    """``text`` with characters the standard PDF fonts cannot draw replaced by look-alikes."""
    return text.translate(_PDF_REPLACEMENTS)


def _decimal(value: object) -> Decimal:
    if isinstance(value, Money):
        return value.amount
    return to_decimal(value)


@dataclass(frozen=True)
class Formatter:
    """Formats for ``locale`` (e.g. ``"en_US"``, ``"de_DE"``); ``date_format`` is a Babel
    pattern or one of ``short``/``medium``/``long``/``full``."""

    locale: str = "en_US"
    date_format: str = "medium"

    def __post_init__(self) -> None:
        try:
            Locale.parse(self.locale)
        except (UnknownLocaleError, ValueError):
            raise ConfigError(f"company.locale {self.locale!r} is not a known locale",
                              hint="use a code such as 'en_US', 'en_GB' or 'de_DE'") from None

    def money(self, value: object, currency: str | None = None) -> str:
        """An amount rounded to ``currency``'s minor unit: ``$1,234.50``, ``1.234,50 €``."""
        currency = currency or (value.currency if isinstance(value, Money) else None)
        if not currency:
            raise ValueError("money() needs a currency for a plain amount")
        amount = Money(_decimal(value), currency).rounded().amount
        return pdf_safe(format_currency(amount, currency, locale=self.locale))

    def unit_price(self, value: object, currency: str) -> str:
        """A unit price: at least the currency's places, up to the four stored (``$0.0125``)."""
        amount = _decimal(value)
        minimum = Money(amount, currency).rounded().amount
        shown = amount.normalize() if amount != minimum else minimum
        return pdf_safe(format_currency(shown, currency, locale=self.locale,
                                        decimal_quantization=False))

    def quantity(self, value: object) -> str:
        """A quantity without trailing zeros: ``3``, ``1.5``, ``1,5``."""
        number = _decimal(value)
        if number == number.to_integral():
            number = number.quantize(Decimal(1))
        else:
            number = number.normalize()
        return pdf_safe(format_decimal(number, locale=self.locale, decimal_quantization=False))

    def percent(self, rate: object) -> str:
        """A tax rate given as a percentage (``20`` → ``20%``; ``8.875`` → ``8.875%``)."""
        fraction = _decimal(rate) / Decimal(100)
        return pdf_safe(format_percent(fraction, format="#,##0.###%", locale=self.locale))

    def date(self, value: dt.date | None, pattern: str | None = None) -> str:
        """A date in the locale's style (``Jan 5, 2026``, ``05.01.2026``); ``""`` for None."""
        if value is None:
            return ""
        return pdf_safe(babel_format_date(value, format=pattern or self.date_format,
                                          locale=self.locale))

    def filters(self) -> dict[str, object]:
        """The Jinja filters: ``money``, ``unit_price``, ``qty``, ``percent``, ``date``."""
        return {"money": self.money, "unit_price": self.unit_price, "qty": self.quantity,
                "percent": self.percent, "date": self.date}
