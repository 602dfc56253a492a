"""Invoice groups (seed 001): agreements of one account invoiced on one aligned date."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlmodel import Field, SQLModel

from hub.db.models._base import timestamp_field


class InvoiceGroup(SQLModel, table=True):
    """Aligns its agreements to ``align_day``; ``next_date`` is the group's next invoice date,
    advanced whenever the master agreement is invoiced."""

    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    description: str
    frequency: str = "monthly"
    interval: int = 1
    align_day: int = Field(default=1, ge=1, le=28)
    next_date: dt.date
    # No foreign key: recurring invoices point at groups, and a cycle of keys would need ALTERs.
    master_recurring_id: Optional[int] = Field(default=None, index=True)
    combine: bool = Field(default=False, description="the group's choice: one invoice per "
                          "period holding every agreement's lines (else one per agreement)")
    created_at: dt.datetime = timestamp_field()
