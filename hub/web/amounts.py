"""Amounts in API answers: every money amount in its currency's minor unit.

The money columns keep four places (``NUMERIC(19, 4)``, for unit prices like 0.0125), so a row
read back from the database holds ``946.0000`` where the one just written holds ``946.00``.
An answer shows neither storage detail: an amount is written as an accountant reads it, in the
minor unit of its currency (``946.00`` USD, ``1500`` JPY, ``1.250`` KWD), as the CLI and the
web admin show it (:func:`hub.core.money.plain_figure`). Unit prices, quantities, tax rates and
percentages are not amounts and keep the places they are stored with.

:func:`json_ready` is the one place that does this, for every router: it also turns Decimals
and dates into exact text, so no answer holds a JSON float.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.core.money import plain_figure

__all__ = ["MONEY_KEYS", "json_ready"]

#: The keys that hold a money amount wherever they occur in an answer (totals, tax, what is
#: paid, applied or due, balances, line, payment, credit and WIP amounts). ``unit_price``,
#: ``unit_cost``, ``quantity``, ``tax_rate`` and ``percent`` are deliberately absent.
MONEY_KEYS = frozenset({
    "subtotal", "tax_total", "total", "amount", "tax_amount", "amount_paid", "credit_applied",
    "amount_due", "applied", "unapplied", "balance", "credit", "invoices_due", "open_debits",
    "minimum_balance", "stage_fee", "value", "billed_value", "taken_amount", "paid", "due",
    "invoiced", "unpaid", "opening_balance", "closing_balance", "wip_total", "billed",
    "adjustment", "balance_after", "at_stake",
})


def _amount(value: Any) -> Decimal | None:
    # Only a Decimal or its text is an amount (what money columns and Money hold): a key such
    # as "paid" may hold a nested Money ({amount, currency}), and an int is a count or an id.
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def json_ready(value: Any, currency: str | None = None) -> Any:
    """``value`` (dicts, lists, Decimals, dates) ready for JSON, with every money amount
    (:data:`MONEY_KEYS`) in its currency's minor unit.

    A dict's own ``currency`` names the currency of its amounts and of those nested in it (an
    invoice's lines, a payment's links); ``currency`` is the one for dicts that do not say
    (an organisation's account summary). Without a currency an amount keeps its places.
    """
    if isinstance(value, dict):
        own = value.get("currency")
        if isinstance(own, str) and len(own) == 3:
            currency = own
        out = {}
        for key, item in value.items():
            amount = _amount(item) if currency and key in MONEY_KEYS else None
            out[key] = (plain_figure(amount, currency) if amount is not None
                        else json_ready(item, currency))
        return out
    if isinstance(value, (list, tuple)):
        return [json_ready(item, currency) for item in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value
