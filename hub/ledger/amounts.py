"""Amounts entered into the ledger: exact, and whole numbers of the currency's minor unit.

The rule the user sees: an amount finer than its currency allows (10.005 USD, 0.5 JPY) is
**refused, never rounded**, with the nearest amounts to type instead. Rounding silently would
leave a customer owing 0.005 that no payment can ever settle. The minor units are the hub's one
table, :func:`hub.core.money.minor_unit` (Babel's, which also prints the PDFs).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from hub.core.money import is_whole_minor_units, minor_unit, quantum, shown, to_decimal
from hub.db.types import MAX_INTEGER_DIGITS
from hub.errors import ValidationFailed
from hub.validation.fields import (
    REASON_LENGTH, check_length, check_not_far_ahead, check_not_far_back,
)

__all__ = ["exact_amount", "refund_refused", "check_refund_entry", "MINOR_UNIT_RULE"]

#: Said in --help and the API docs wherever an amount is entered.
MINOR_UNIT_RULE = ("amounts must be whole minor units of the currency (0.01 USD, 1 JPY): "
                   "finer amounts are refused, not rounded")


def exact_amount(value: object, currency: str, what: str = "amount") -> Decimal:
    """``value`` as an exact Decimal of ``currency``, or a refusal that says what to type.

    Refuses floats and junk (via :func:`to_decimal`), amounts the money columns cannot hold
    (the API's rule, :func:`hub.validation.fields.parse_decimal`: ``1e400`` or twenty digits
    would otherwise fail inside the rounding below or on INSERT) and amounts finer than the
    currency's minor unit."""
    try:
        amount = to_decimal(value)
        if amount and amount.adjusted() >= MAX_INTEGER_DIGITS:
            from hub.validation.fields import parse_decimal

            parse_decimal(value)  # raises, with the same words as the API
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{what}: {exc}; nothing was stored",
                               hint="write amounts like 12.50") from None
    if not is_whole_minor_units(amount, currency):
        places = minor_unit(currency)
        step = quantum(currency)
        low = amount.quantize(step, rounding=ROUND_FLOOR)
        high = amount.quantize(step, rounding=ROUND_CEILING)
        unit = "no decimals" if places == 0 else f"at most {places} decimal" + \
            ("s" if places > 1 else "")
        raise ValidationFailed(
            f"{what} {amount} {currency} is finer than {currency} allows ({unit}); nothing was "
            "stored", hint=f"enter {low} or {high} {currency}" if low > 0 or amount < 0
            else f"enter {high} {currency}")
    return amount


def refund_refused(payment_id: int, currency: str, left: Decimal) -> ValidationFailed:
    """The refusal of a refund amount outside what is left of the payment (``left``): the
    range in the currency's minor unit, or that nothing is left (no "between 0 and 0")."""
    if left <= 0:
        return ValidationFailed(f"nothing is left to refund of payment {payment_id}",
                                hint="it was refunded in full already")
    return ValidationFailed(f"a refund of payment {payment_id} must be between "
                            f"{shown(quantum(currency), currency)} and {shown(left, currency)}",
                            hint="refunds never exceed what was paid and not yet refunded")


def check_refund_entry(date: dt.date, today: dt.date | None, reason: str) -> None:
    """What a refund typed by someone must hold (at the CLI, API and admin entry points; not
    in :func:`refund` itself, which also books the refunds a processor reports, dated by it):
    a reason of a sensible length and a date within a year of ``today``."""
    check_length(reason, "refund reason", REASON_LENGTH)
    check_not_far_ahead(date, today, "refund date")
    check_not_far_back(date, today, "refund date")
