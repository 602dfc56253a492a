"""Column types that keep money and quantities exact on every database.

PostgreSQL stores ``NUMERIC(19, 4)``: 15 integer digits and 4 decimals, exactly. SQLite has no
exact decimal (its NUMERIC affinity silently turns values into binary floats), so there the same
column is canonical decimal text. Either way Python sees ``Decimal``; a ``float`` is refused on
the way in, and a value with more decimals than the column keeps is refused rather than rounded
behind the caller's back.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Numeric, String
from sqlalchemy.types import TypeDecorator

from hub.core.money import STORAGE_PLACES, to_decimal

__all__ = ["ExactDecimal", "MAX_INTEGER_DIGITS"]

MAX_INTEGER_DIGITS = 15


class ExactDecimal(TypeDecorator):
    """An exact decimal column: ``NUMERIC(19, scale)`` on PostgreSQL, text on SQLite."""

    impl = Numeric
    cache_ok = True

    def __init__(self, scale: int = STORAGE_PLACES) -> None:
        super().__init__()
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(MAX_INTEGER_DIGITS + self.scale + 2))
        return dialect.type_descriptor(Numeric(MAX_INTEGER_DIGITS + self.scale, self.scale,
                                               asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        number = to_decimal(value)
        # One quantize serves both the check and the stored form (this runs for every amount a
        # billing run writes): a value it changes had more places than the column keeps.
        stored = number.quantize(self._quantum)
        if stored != number:
            raise ValueError(f"{number} has more than {self.scale} decimal places; round it first")
        # Decimal keeps the sign of a zero (-0.004 rounded to cents is -0.00): stored as text
        # on SQLite, "-0.0000" fails a CHECK (total >= 0) that "0.0000" passes.
        number = stored if stored else abs(stored)
        if number.adjusted() >= MAX_INTEGER_DIGITS:
            raise ValueError(f"{number} has more than {MAX_INTEGER_DIGITS} integer digits")
        return format(number, "f") if dialect.name == "sqlite" else number

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(value) if not isinstance(value, Decimal) else value
