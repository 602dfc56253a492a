"""Reading form fields: bad input becomes a :class:`~hub.errors.ValidationFailed` that the page
shows, never a 500."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from hub.errors import ValidationFailed

__all__ = ["decimal_field", "date_field"]


def decimal_field(value: str, name: str) -> Decimal:
    """A form's amount as an exact Decimal (money is never a float)."""
    try:
        amount = Decimal(value.strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationFailed(f"{name} {value!r} is not a number",
                               hint="write it like 120.50") from None
    if not amount.is_finite():
        raise ValidationFailed(f"{name} {value!r} is not a number")
    return amount


def date_field(value: str, name: str, default: dt.date | None = None) -> dt.date:
    """A form's ``YYYY-MM-DD`` date; ``default`` when left empty."""
    if not value.strip() and default is not None:
        return default
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(f"{name} {value!r} is not a date",
                               hint="write dates as YYYY-MM-DD") from None
