"""Per-format number counters, drawn only when invoices are finalised.

The row is updated with ``next_value = next_value + n`` inside the confirming transaction, so
on PostgreSQL a second confirmer waits on the row lock and numbers stay unique and without gaps
(a rolled-back confirmation gives its numbers back).
"""

from __future__ import annotations

from typing import Optional

from sqlmodel import Field, SQLModel


class NumberSequence(SQLModel, table=True):
    """The next value of one sequence key (see :func:`hub.core.numbering.sequence_key`)."""

    key: str = Field(primary_key=True)
    next_value: int = 1
    format: Optional[str] = None
