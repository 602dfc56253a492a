"""Taking document numbers from per-format counters (only when finalising)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlmodel import Session

from hub.billing._sql import insert_ignoring
from hub.core.numbering import render_numbers, sequence_key
from hub.db.models.number_sequences import NumberSequence

__all__ = ["take_numbers"]


def take_numbers(session: Session, fmt: str, *, issue_date: dt.date, partner_id: int,
                 count: int = 1) -> list[str]:
    """Draw ``count`` consecutive numbers in this transaction.

    The counter row is created if missing (``ON CONFLICT DO NOTHING``) and then advanced with one
    ``UPDATE ... RETURNING``, which on PostgreSQL holds the row lock until commit: concurrent
    confirmations queue instead of sharing numbers, and a rollback gives the numbers back.
    """
    if count < 1:
        return []
    key = sequence_key(fmt, issue_date=issue_date, partner_id=partner_id)
    table = NumberSequence.__table__
    session.execute(insert_ignoring(session, table, ["key"]).values(key=key, next_value=1,
                                                                    format=fmt))
    after = session.execute(
        update(table).where(table.c.key == key)
        .values(next_value=table.c.next_value + count).returning(table.c.next_value)
    ).scalar_one()
    first = after - count
    return render_numbers(fmt, first=first, count=count, issue_date=issue_date,
                          partner_id=partner_id)
