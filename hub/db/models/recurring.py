"""Recurring invoices (schedules/agreements) and their template lines (seed 000, 002, 001).

A :class:`RecurringInvoice` bills one organisation on a cadence (frequency, interval, billing
day, anchor). ``covered_from`` is the first day not yet invoiced (the service start at first)
and ``next_run_date`` the day the next invoice is due; a billing run for a date makes an invoice
for every schedule due on or before it. A :class:`RecurringLine` is one template line: standard
(flat), asset counter, user counter or vendor usage counter (``counter_filters`` are passed to
the counter hooks as they are). Contract lines (seed 004) use the same table with ``contract_id``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Optional

from sqlmodel import Field, SQLModel

from hub.db.models._base import json_field, money_field, quantity_field, timestamp_field


class RecurringInvoice(SQLModel, table=True):
    """A recurring invoice template for one organisation."""

    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    name: str = "Recurring invoice"
    frequency: str = Field(default="monthly",
                           description="monthly, quarterly, yearly, months, weeks")
    interval: int = Field(default=1, ge=1, description="N for 'every N months/weeks'")
    billing_day: int = Field(default=1, ge=1, le=28)
    anchor_date: dt.date = Field(description="a day on which a period starts (alignment)")
    service_start: dt.date
    covered_from: dt.date = Field(description="first day not yet invoiced")
    next_run_date: dt.date = Field(index=True, description="when the next invoice is due")
    end_date: Optional[dt.date] = None
    auto_bill: bool = False
    add_pending_ticket_charges: bool = False
    ticket_status_filter: list[str] = json_field(list)
    ticket_charge_order: str = Field(default="oldest_first",
                                     description="oldest_first, newest_first or by_ticket")
    invoice_group_id: Optional[int] = Field(default=None, foreign_key="invoicegroup.id", index=True)
    payment_due_days: Optional[int] = None
    active: bool = True
    created_at: dt.datetime = timestamp_field()


class RecurringLine(SQLModel, table=True):
    """One template line of a recurring invoice or billing contract."""

    id: Optional[int] = Field(default=None, primary_key=True)
    recurring_invoice_id: Optional[int] = Field(default=None, foreign_key="recurringinvoice.id",
                                                index=True)
    contract_id: Optional[int] = Field(default=None, foreign_key="billingcontract.id", index=True)
    position: int = 0
    line_type: str = Field(default="standard",
                           description="standard, asset_counter, user_counter, vendor_usage")
    product_id: Optional[int] = Field(default=None, foreign_key="product.id")
    description: str
    quantity: Decimal = quantity_field(Decimal("1"))
    unit_price: Decimal = money_field()
    tax_rate: Decimal = quantity_field(Decimal("0"))
    counter_filters: dict[str, Any] = json_field()
    active: bool = True
