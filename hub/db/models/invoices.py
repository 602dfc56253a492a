"""Invoices and their lines.

An invoice starts as a *draft* inside a preview batch (no number, not in the ledger), becomes
final when its batch is confirmed (number taken, ledger debit written, outbox row written in
the same transaction), and from then on changes only as the ledger's status rules allow.
A synced invoice (``locked_at`` set) is never edited or deleted: it is credited instead.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any, Optional

from sqlalchemy import CheckConstraint, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from hub.core.ledger.statuses import InvoiceStatus, amount_due  # the core decides statuses
from hub.db.models._base import (json_field, money_field, quantity_field, reference_index,
                                  timestamp_field)


class InvoiceKind(StrEnum):
    """One-time, recurring (made from a schedule or contract cycle) or proforma."""

    one_time = "one_time"
    recurring = "recurring"
    proforma = "proforma"


class Invoice(SQLModel, table=True):
    """An invoice. ``(billing_key, period_start)`` is unique: one invoice per schedule or
    contract cycle per period, enforced by the database (exactly-once billing)."""

    __table_args__ = (
        UniqueConstraint("billing_key", "period_start", name="uq_invoice_billing_period"),
        UniqueConstraint("number", name="uq_invoice_number"),
        CheckConstraint("total >= 0", name="ck_invoice_total_not_negative"),
        reference_index("invoice", "replaces_invoice_id"),
        reference_index("invoice", "converted_from_id"),
        # SQLite hands a deleted newest row's id out again without AUTOINCREMENT; an invoice
        # is deleted completely while the audit trail and the outbox still name its id.
        {"sqlite_autoincrement": True},
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    kind: InvoiceKind = InvoiceKind.one_time
    status: InvoiceStatus = Field(default=InvoiceStatus.draft, index=True)
    number: Optional[str] = Field(default=None, description="taken when finalised")
    currency: str = Field(default="USD", max_length=3)
    issue_date: dt.date
    due_date: dt.date
    period_start: Optional[dt.date] = None
    period_end: Optional[dt.date] = None
    billing_key: Optional[str] = Field(
        default=None, index=True,
        description="'schedule:ID' or 'contract:ID' for generated invoices; None for manual ones")
    batch_id: Optional[int] = Field(default=None, index=True)
    replaces_invoice_id: Optional[int] = Field(default=None, foreign_key="invoice.id")
    schedule_key: Optional[str] = Field(
        default=None, index=True,
        description="'schedule:ID' or 'contract:ID': the series a generated invoice belongs to "
                    "(billing_key may differ for a replacement); used to find the last invoice")
    converted_from_id: Optional[int] = Field(default=None, foreign_key="invoice.id",
                                             description="the proforma this invoice was made from")
    subtotal: Decimal = money_field()
    tax_total: Decimal = money_field()
    prices_include_tax: bool = Field(
        default=False, sa_column_kwargs={"server_default": false()},
        description="line prices and amounts include tax; subtotal stays net")
    total: Decimal = money_field()
    amount_paid: Decimal = money_field(description="allocated payments")
    credit_applied: Decimal = money_field(description="applied credit notes and account credit")
    note: str = ""
    memo: str = ""
    extra_fields: dict[str, Any] = json_field()
    auto_bill: bool = False
    finalised_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    locked_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    locked_by: Optional[str] = Field(default=None, description="connection that synced it")
    deleted_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    created_at: dt.datetime = timestamp_field()

    @property
    def amount_due(self) -> Decimal:
        """Total minus allocated payments and applied credit, never below zero."""
        return amount_due(self.total, self.amount_paid, self.credit_applied)


class LineType(StrEnum):
    """Seed 000's recurring line types plus the lines other sources make."""

    standard = "standard"
    asset_counter = "asset_counter"
    user_counter = "user_counter"
    vendor_usage = "vendor_usage"
    ticket_charge = "ticket_charge"
    future_item = "future_item"
    prorata = "prorata"
    prebill = "prebill"


class InvoiceLine(SQLModel, table=True):
    """One line. ``provenance`` lists the ids that made its quantity (assets, contacts,
    subscriptions, time entries); ``change`` explains the difference from the last invoice of
    the same schedule (e.g. "+3 devices: A, B, C")."""

    id: Optional[int] = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    position: int = 0
    line_type: LineType = LineType.standard
    description: str
    product_id: Optional[int] = Field(default=None, foreign_key="product.id")
    quantity: Decimal = quantity_field(Decimal("1"))
    unit_price: Decimal = money_field()
    amount: Decimal = money_field()
    tax_rate: Decimal = quantity_field(Decimal("0"))
    tax_amount: Decimal = money_field()
    period_start: Optional[dt.date] = None
    period_end: Optional[dt.date] = None
    source_line_key: Optional[str] = Field(
        default=None, description="which template line made it, to compare across periods")
    provenance: list[Any] = json_field(list)
    change: Optional[str] = None
    prorata_note: Optional[str] = Field(default=None,
                                        description="the pro-rata fraction explained, if any")
