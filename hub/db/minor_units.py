"""The last line of defence for "no stored amount finer than its currency's minor unit".

Services refuse such amounts at the door with a message that says what to type instead (see
:func:`hub.ledger.amounts.exact_amount`); this check runs before every flush and refuses a row
that would still store one — a path a service forgot, a plugin writing rows, a rounding slip —
so the database never holds 10.005 USD or 0.5 JPY. Rows are recognised by table name, so this
module needs no model import (it is registered when :mod:`hub.db.models` is imported).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import event
from sqlalchemy.orm import Session

from hub.core.money import is_whole_minor_units, minor_unit
from hub.errors import ValidationFailed

__all__ = ["AMOUNT_COLUMNS", "check_row", "install"]

#: Table -> the amount columns held in the row's ``currency``. Unit prices (four places, e.g.
#: 0.0125 per unit) and quantities are not amounts and are not listed.
AMOUNT_COLUMNS: dict[str, tuple[str, ...]] = {
    "ledger_transaction": ("amount",),
    "payment": ("amount",),
    "creditnote": ("subtotal", "tax_total", "total"),
    "invoice": ("subtotal", "tax_total", "total", "amount_paid", "credit_applied"),
    "prebill": ("stage_fee", "amount"),
    "wipentry": ("value", "billed_value"),
    "futureitem": ("amount", "taken_amount"),
}


def check_row(row: object) -> None:
    """Refuse ``row`` if one of its amounts is finer than its currency's minor unit."""
    columns = AMOUNT_COLUMNS.get(getattr(row, "__tablename__", ""), ())
    currency = getattr(row, "currency", None)
    if not columns or not currency:
        return
    for name in columns:
        value = getattr(row, name, None)
        if isinstance(value, Decimal) and not is_whole_minor_units(value, currency):
            places = minor_unit(currency)
            raise ValidationFailed(
                f"{row.__tablename__}.{name} = {value} {currency} is finer than {currency}'s "
                f"minor unit ({places} decimal{'s' if places != 1 else ''}); nothing was stored",
                hint=f"enter amounts in whole {currency} minor units, e.g. "
                     f"{value.quantize(Decimal(1).scaleb(-places))}")


def _before_flush(session: Session, _context, _instances) -> None:
    for row in list(session.new) + list(session.dirty):
        check_row(row)


def install() -> None:
    """Check every session's new and changed rows before each flush (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
