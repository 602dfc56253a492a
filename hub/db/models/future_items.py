"""Future items (seed 002): a debit (+) or credit (−) waiting for the next invoice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Optional

from sqlmodel import Field, SQLModel

from hub.db.models._base import money_field, reference_index, timestamp_field


class FutureItem(SQLModel, table=True):
    """Taken into the next recurring (or, when asked, one-time) invoice. ``invoice_id`` is set
    when a draft takes it and ``used`` when that invoice is finalised; a credit the invoice
    could not absorb (totals never go below zero) leaves a new item for the rest."""

    __table_args__ = (
        reference_index("futureitem", "remainder_of_id"),
        # A removed item's id stays named by its audit events: SQLite must never hand it out
        # again (without AUTOINCREMENT it reuses the newest deleted row's id).
        {"sqlite_autoincrement": True},
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    description: str
    amount: Decimal = money_field()
    currency: str = Field(default="USD", max_length=3)
    invoice_id: Optional[int] = Field(default=None, foreign_key="invoice.id", index=True)
    taken_amount: Optional[Decimal] = money_field(None, nullable=True)
    used: bool = Field(default=False, index=True)
    remainder_of_id: Optional[int] = Field(default=None, foreign_key="futureitem.id")
    created_on: dt.date
    created_at: dt.datetime = timestamp_field()
