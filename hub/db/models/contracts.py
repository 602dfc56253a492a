"""Billing contracts and their cycles (seed 004, Work 365)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.db.models._base import reference_index, timestamp_field


class BillingContract(SQLModel, table=True):
    """A contract billed cycle by cycle. The ``auto_*`` flags say which post-invoicing tasks
    are enabled; they run only when asked (seed 004)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    name: str
    frequency: str = "monthly"
    interval: int = 1
    billing_day: int = Field(default=1, ge=1, le=28)
    start_date: dt.date
    refund_policy: str = ""
    auto_charge: bool = False
    auto_sync: bool = True
    auto_send: bool = False
    active: bool = True
    created_at: dt.datetime = timestamp_field()


class BillingCycle(SQLModel, table=True):
    """One cycle of a contract; ``invoice_id`` is its current invoice (the newest, when an
    invoiced cycle was replaced — the earlier invoice is left as it was)."""

    __table_args__ = (UniqueConstraint("contract_id", "number", name="uq_cycle_number"),
                      reference_index("billingcycle", "invoice_id"))
    id: Optional[int] = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="billingcontract.id", index=True)
    number: int
    start: dt.date
    end: dt.date
    invoice_id: Optional[int] = Field(default=None, foreign_key="invoice.id")
    replacements: int = 0
