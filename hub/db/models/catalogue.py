"""Facts about what the MSP manages: organisations, people, devices, products, tickets, time.

Rows pulled from a connector carry ``source`` (the connection name) and ``external_id``; the
pair is unique, so pulling twice updates rather than duplicates. Organisations are matched to a
connector's companies only through :class:`OrganisationMapping`, never by name alone.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any, Optional

from sqlalchemy import UniqueConstraint, false
from sqlmodel import Field, SQLModel

from hub.db.models._base import (json_field, money_field, quantity_field, reference_index,
                                  timestamp_field)


class Organisation(SQLModel, table=True):
    """A customer organisation: who is billed."""

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    currency: str = Field(default="USD", max_length=3)
    email: Optional[str] = None
    billing_day: int = Field(default=1, ge=1, le=28)
    payment_due_days: Optional[int] = Field(default=None, description="None: company default")
    auto_bill: bool = False
    require_invoice_group: bool = Field(default=False,
                                        description="new agreements must join an invoice group")
    prices_include_tax: bool = Field(
        default=False, sa_column_kwargs={"server_default": false()},
        description="its prices are tax-inclusive (as printed)")
    active: bool = True
    attributes: dict[str, Any] = json_field()
    created_at: dt.datetime = timestamp_field()


class OrganisationMapping(SQLModel, table=True):
    """Explicit link between a connector's company/tenant id and a hub organisation."""

    __table_args__ = (UniqueConstraint("connection", "external_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    connection: str = Field(index=True)
    external_id: str
    external_name: Optional[str] = None
    organisation_id: Optional[int] = Field(default=None, foreign_key="organisation.id", index=True,
                                           description="None: seen at the source, not yet mapped")


class Contact(SQLModel, table=True):
    """A person at an organisation; attributes (e.g. remote_access) drive user counters."""

    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    name: str
    email: Optional[str] = None
    attributes: dict[str, Any] = json_field()
    source: Optional[str] = Field(default=None, description="connection name; None if manual")
    external_id: Optional[str] = None
    deleted_at_source: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)


class Asset(SQLModel, table=True):
    """A managed device; type/policy/status drive asset counters."""

    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    name: str
    asset_type: str = Field(default="unknown", index=True)
    policy: Optional[str] = None
    status: str = Field(default="active")
    last_seen: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    attributes: dict[str, Any] = json_field()
    source: Optional[str] = None
    external_id: Optional[str] = None
    deleted_at_source: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)


class Product(SQLModel, table=True):
    """A product or service in the catalogue, with its price and tax rate."""

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    name: str
    description: str = ""
    currency: str = Field(default="USD", max_length=3)
    unit_price: Decimal = money_field()
    tax_rate: Decimal = quantity_field(Decimal("0"))
    kind: str = Field(default="service", description="service, labor, hardware, license")
    account_code: Optional[str] = None
    active: bool = True
    prices_include_tax: bool = Field(
        default=False, sa_column_kwargs={"server_default": false()},
        description="unit_price is tax-inclusive (as printed)")


class Ticket(SQLModel, table=True):
    """A support ticket; its charges can be invoiced on their own or on the recurring invoice."""

    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    number: str
    subject: str
    status: str = Field(default="New", index=True)
    source: Optional[str] = None
    external_id: Optional[str] = None
    created_at: dt.datetime = timestamp_field()
    deleted_at_source: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)


class LaborStatus(StrEnum):
    """Syncro's labour log: Not Charged → Charged → Invoiced."""

    not_charged = "not_charged"
    charged = "charged"
    invoiced = "invoiced"


class TicketCharge(SQLModel, table=True):
    """Billable time or a non-labour item on a ticket."""

    __table_args__ = (UniqueConstraint("source", "external_id"),
                      reference_index("ticketcharge", "invoice_line_id"))
    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    product_id: Optional[int] = Field(default=None, foreign_key="product.id")
    description: str
    quantity: Decimal = quantity_field(Decimal("1"))
    unit_price: Decimal = money_field()
    currency: str = Field(default="USD", max_length=3)
    billable: bool = True
    is_labor: bool = True
    worked_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    labor_status: LaborStatus = Field(default=LaborStatus.not_charged, index=True)
    invoice_line_id: Optional[int] = Field(default=None, foreign_key="invoiceline.id")
    source: Optional[str] = None
    external_id: Optional[str] = None


class UsageSnapshot(SQLModel, table=True):
    """A vendor's licence/usage count for one tenant and SKU over a period, as pulled."""

    __table_args__ = (UniqueConstraint("source", "external_id", "period_start"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: Optional[int] = Field(default=None, foreign_key="organisation.id", index=True)
    source: str
    external_id: str
    tenant_external_id: str
    sku: str = Field(index=True)
    description: str = ""
    quantity: Decimal = quantity_field()
    period_start: dt.date
    period_end: dt.date
    unit_cost: Optional[Decimal] = money_field(None, nullable=True)
    currency: Optional[str] = None
    pulled_at: dt.datetime = timestamp_field()
    deleted_at_source: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
