"""Reading form fields: bad input becomes a :class:`~hub.errors.ValidationFailed` that the page
shows, never a 500."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from hub.errors import ValidationFailed

__all__ = ["decimal_field", "date_field", "required_text"]

#: An amount as people type it: ASCII digits, commas only between groups of three
#: (``1,234.50``), a decimal point. Decimal itself would read ``1,50`` with the comma dropped
#: as 150, ``1e400``, and digits of other scripts (``١٢``).
_AMOUNT = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d*)?", re.ASCII)
#: How much of a refused value a message repeats (a pasted page of text is not shown back).
_SHOWN = 40


def _shown(value: str) -> str:
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "…")


def decimal_field(value: str, name: str) -> Decimal:
    """A form's amount as an exact Decimal (money is never a float), with the limits of the
    money columns (:func:`hub.validation.fields.parse_decimal`)."""
    from hub.validation.fields import parse_decimal

    text = value.strip()
    if not _AMOUNT.fullmatch(text) or not re.search("[0-9]", text):
        raise ValidationFailed(f"{name} {_shown(value)} is not a number",
                               hint="write it like 120.50 (a comma only between thousands, "
                                    "as in 1,234.50)")
    try:
        return parse_decimal(text.replace(",", ""))
    except ValueError as exc:
        raise ValidationFailed(f"{name}: {exc}", hint="write it like 120.50") from None


def date_field(value: str, name: str, default: dt.date | None = None) -> dt.date:
    """A form's ``YYYY-MM-DD`` date; ``default`` when left empty."""
    if not value.strip() and default is not None:
        return default
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(f"{name} {_shown(value)} is not a date",
                               hint="write dates as YYYY-MM-DD") from None


def required_text(value: str, name: str, hint: str) -> str:
    """A text field the form marks required, stripped; blank or spaces only is refused (the
    browser's ``required`` lets spaces through, and a request need not come from the form)."""
    text = value.strip()
    if not text:
        raise ValidationFailed(f"give a {name}", hint=hint)
    return text
