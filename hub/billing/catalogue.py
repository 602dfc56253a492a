"""Catalogue and facts: organisations, contacts, assets, products, tickets and ticket charges.

Connectors fill most of these by pulling; these functions are for the CLI, the API, the demo and
tests. A ticket charge's labour status moves Not Charged → Charged → Invoiced (seed 000): only
charged ones are offered to invoices, and only finalising an invoice makes them invoiced.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, select

from hub.core.money import to_decimal
from hub.db.models import (
    Asset, Contact, LaborStatus, Organisation, Product, Ticket, TicketCharge,
)
from hub.errors import NotFound, ValidationFailed

__all__ = ["create_organisation", "add_contact", "add_asset", "add_product", "product_by_code",
           "open_ticket", "add_ticket_charge", "charge_labor", "get_or_404"]


def get_or_404(session: Session, model: type, row_id: int, what: str, hint: str):
    """The row, or a :class:`NotFound` that says how to find the right id."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"{what} {row_id} does not exist", hint=hint)
    return row


def create_organisation(session: Session, name: str, *, currency: str = "USD",
                        email: str | None = None, billing_day: int = 1,
                        payment_due_days: int | None = None, auto_bill: bool = False,
                        require_invoice_group: bool = False,
                        prices_include_tax: bool = False) -> Organisation:
    """A new customer organisation (``prices_include_tax``: its prices are as printed, tax
    included)."""
    if not 1 <= billing_day <= 28:
        raise ValidationFailed(f"billing day {billing_day} is outside 1–28",
                               hint="use 28 or 1 to bill at the end of the month")
    org = Organisation(name=name, currency=currency, email=email, billing_day=billing_day,
                       payment_due_days=payment_due_days, auto_bill=auto_bill,
                       require_invoice_group=require_invoice_group,
                       prices_include_tax=prices_include_tax)
    session.add(org)
    session.flush()
    return org


def add_contact(session: Session, organisation_id: int, name: str, *, email: str | None = None,
                attributes: dict[str, Any] | None = None) -> Contact:
    """A person at an organisation; ``attributes`` (e.g. ``remote_access``) feed user counters."""
    contact = Contact(organisation_id=organisation_id, name=name, email=email,
                      attributes=attributes or {})
    session.add(contact)
    session.flush()
    return contact


def add_asset(session: Session, organisation_id: int, name: str, *, asset_type: str = "workstation",
              policy: str | None = None, status: str = "active") -> Asset:
    """A managed device; type, policy and status feed asset counters."""
    asset = Asset(organisation_id=organisation_id, name=name, asset_type=asset_type,
                  policy=policy, status=status)
    session.add(asset)
    session.flush()
    return asset


def add_product(session: Session, code: str, name: str, unit_price: object, *,
                tax_rate: object = "0", kind: str = "service", currency: str = "USD",
                description: str = "", prices_include_tax: bool = False) -> Product:
    """A catalogue product or service with its price and tax rate (``prices_include_tax``:
    the price is as printed, tax included)."""
    product = Product(code=code, name=name, unit_price=to_decimal(unit_price),
                      tax_rate=to_decimal(tax_rate), kind=kind, currency=currency,
                      description=description or name, prices_include_tax=prices_include_tax)
    session.add(product)
    session.flush()
    return product


def product_by_code(session: Session, code: str) -> Product:
    """The product with ``code``."""
    product = session.exec(select(Product).where(Product.code == code)).first()
    if product is None:
        raise NotFound(f"no product with code {code!r}", hint="list them with `hub org products`")
    return product


def open_ticket(session: Session, organisation_id: int, number: str, subject: str, *,
                status: str = "New") -> Ticket:
    """A support ticket."""
    ticket = Ticket(organisation_id=organisation_id, number=number, subject=subject,
                    status=status)
    session.add(ticket)
    session.flush()
    return ticket


def add_ticket_charge(session: Session, ticket_id: int, description: str, *,
                      quantity: object = "1", unit_price: object = "0",
                      is_labor: bool = True, billable: bool = True,
                      worked_at: dt.datetime | None = None, product_id: int | None = None,
                      charged: bool = False) -> TicketCharge:
    """Time or an item on a ticket (Not Charged unless ``charged``; non-labour items are
    charged as soon as they are added, as in Syncro's ticket line items)."""
    ticket = get_or_404(session, Ticket, ticket_id, "ticket", "list tickets with `hub org show`")
    charge = TicketCharge(ticket_id=ticket.id, organisation_id=ticket.organisation_id,
                          description=description, quantity=to_decimal(quantity),
                          unit_price=to_decimal(unit_price), is_labor=is_labor,
                          billable=billable, worked_at=worked_at, product_id=product_id,
                          labor_status=LaborStatus.charged if (charged or not is_labor)
                          else LaborStatus.not_charged)
    session.add(charge)
    session.flush()
    return charge


def charge_labor(session: Session, charge_id: int) -> TicketCharge:
    """Not Charged → Charged: the time entry will be offered to the next invoice."""
    charge = get_or_404(session, TicketCharge, charge_id, "ticket charge",
                        "see the ticket's charges with `hub invoice from-ticket --list`")
    if charge.labor_status == LaborStatus.invoiced:
        raise ValidationFailed(f"ticket charge {charge_id} is already invoiced",
                               hint="credit the invoice instead of charging it again")
    if not charge.billable:
        raise ValidationFailed(f"ticket charge {charge_id} is not billable",
                               hint="mark it billable at the source first")
    charge.labor_status = LaborStatus.charged
    return charge
