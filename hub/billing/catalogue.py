"""Catalogue and facts: organisations, contacts, assets, products, tickets and ticket charges.

Connectors fill most of these by pulling; these functions are for the CLI, the API, the demo and
tests. A ticket charge's labour status moves Not Charged → Charged → Invoiced (seed 000): only
charged ones are offered to invoices, and only finalising an invoice makes them invoiced.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from hub.ledger.amounts import exact_amount
from hub.db.locks import ORGANISATION_NAMES, serialise
from hub.db.models import (
    Asset, Contact, FutureItem, LaborStatus, Organisation, Product, Ticket, TicketCharge,
)
from hub.errors import ConfigError, EditNotAllowed, NotFound, ValidationFailed
from hub.validation import parse
from hub.validation.fields import MAX_ID, check_money_currency
from hub.validation.records import (
    AssetInput, ContactInput, FutureItemInput, OrganisationInput, ProductInput,
    TicketChargeInput, TicketInput,
)

_ORG_HINT = "list organisations with `hub org list`"


def _company_currency(code: str) -> str:
    """The company's currency (``[company] currency``), which a new organisation or product
    without one of its own is in: held to the rules of a currency typed for it (not XXX)."""
    try:
        return check_money_currency(code)
    except ValueError as exc:
        raise ConfigError(f"company.currency: {exc}",
                          hint="set [company] currency in hub.toml (or HUB_COMPANY__CURRENCY) "
                               "to the currency you bill in") from None

__all__ = ["create_organisation", "billable_organisation", "check_name_free", "add_contact",
           "add_asset", "add_product", "product_by_code",
           "open_ticket", "add_ticket_charge", "charge_labor", "get_or_404", "add_future_item"]


def get_or_404(session: Session, model: type, row_id: int, what: str, hint: str, *,
               lock: bool = False):
    """The row, or a :class:`NotFound` that says how to find the right id.

    ``lock``: read it as stored now and hold its row lock until the transaction ends
    (PostgreSQL ``SELECT ... FOR NO KEY UPDATE``; SQLite's write lock already serialises). It
    waits for an UPDATE of the row (a retirement) but not for the key-share locks taken when
    rows that refer to it are inserted: ``FOR UPDATE`` would, and an invoice finalised
    meanwhile (holding the number counter) would then wait for this transaction while it
    waits for the counter, a deadlock."""
    # An id beyond the column's range cannot exist (and the driver would refuse to send it).
    locking = {"with_for_update": {"key_share": True}, "populate_existing": True} if lock else {}
    row = session.get(model, row_id, **locking) \
        if isinstance(row_id, int) and 0 < row_id <= MAX_ID else None
    if row is None:
        raise NotFound(f"{what} {row_id} does not exist", hint=hint)
    return row


def create_organisation(session: Session, name: str, *, currency: str | None = None,
                        email: str | None = None, billing_day: int = 1,
                        payment_due_days: int | None = None, auto_bill: bool = False,
                        require_invoice_group: bool = False,
                        default_currency: str = "USD",
                        prices_include_tax: bool = False) -> Organisation:
    """A new customer organisation; ``currency`` defaults to ``default_currency`` (callers pass
    the company's, ``[company] currency``); ``prices_include_tax``: its prices are as printed,
    tax included."""
    given = parse(OrganisationInput, name=name, currency=currency, email=email,
                  billing_day=billing_day, payment_due_days=payment_due_days,
                  auto_bill=auto_bill, require_invoice_group=require_invoice_group)
    check_name_free(session, given.name)
    org = Organisation(**given.model_dump(exclude={"currency"}),
                       currency=given.currency or _company_currency(default_currency),
                       prices_include_tax=prices_include_tax)
    session.add(org)
    session.flush()
    return org


def check_name_free(session: Session, name: str, organisation_id: int | None = None) -> None:
    """Refuse ``name`` when another organisation (``organisation_id`` is the one being renamed)
    already has it, whatever its case and surrounding spaces: Xero keeps contact names unique
    and QuickBooks customer display names, so the second one's documents would be refused at
    every push, and two same-named customers cannot be told apart on a list either.
    Organisations pulled from a PSA are stored as the PSA has them and not checked here."""
    wanted = name.strip().casefold()
    # two creates of one name at once on PostgreSQL: the second waits, then sees the first
    serialise(session, ORGANISATION_NAMES)
    # Compared in Python: SQLite's lower() folds ASCII letters only ("Ünion" and "ünion"
    # would pass). One column of every organisation is a few thousand short strings at most.
    for other_id, other_name, active in session.execute(
            select(Organisation.id, Organisation.name, Organisation.active)):
        if other_id == organisation_id or other_name.strip().casefold() != wanted:
            continue
        if not active:
            raise ValidationFailed(
                f"organisation {other_id} is already named {other_name!r} (retired)",
                hint=f"reactivate it with `hub org reactivate {other_id}`, or give this one a "
                     f"name that tells them apart")
        raise ValidationFailed(
            f"organisation {other_id} is already named {other_name!r}",
            hint="give this one a name that tells them apart, e.g. with its town "
                 "(Xero and QuickBooks refuse two customers of one name)")


def billable_organisation(session: Session, organisation_id: int) -> Organisation:
    """The organisation, if it takes new invoices, schedules and future items: it exists and
    is not retired (a retired one keeps its documents, payments and credit notes only).

    Its row stays locked until the transaction ends: on PostgreSQL a retirement committed
    while an invoice or schedule is being made for it waits for that, or is seen by it (a
    plain read would see the organisation active and let the new record in after it was
    retired). The ledger takes the same lock (:func:`hub.ledger.lock_account`), first too."""
    org = get_or_404(session, Organisation, organisation_id, "organisation", _ORG_HINT,
                     lock=True)
    if not org.active:
        raise EditNotAllowed(f"organisation {org.id} ({org.name}) is retired and takes no new "
                             f"invoices, schedules or future items",
                             hint=f"reactivate it first with `hub org reactivate {org.id}`")
    return org


def add_contact(session: Session, organisation_id: int, name: str, *, email: str | None = None,
                attributes: dict[str, Any] | None = None) -> Contact:
    """A person at an organisation; ``attributes`` (e.g. ``remote_access``) feed user counters."""
    given = parse(ContactInput, organisation_id=organisation_id, name=name, email=email,
                  attributes=attributes or {})
    get_or_404(session, Organisation, given.organisation_id, "organisation", _ORG_HINT)
    contact = Contact(**given.model_dump())
    session.add(contact)
    session.flush()
    return contact


def add_asset(session: Session, organisation_id: int, name: str, *, asset_type: str = "workstation",
              policy: str | None = None, status: str = "active") -> Asset:
    """A managed device; type, policy and status feed asset counters."""
    given = parse(AssetInput, organisation_id=organisation_id, name=name,
                  asset_type=asset_type, policy=policy, status=status)
    get_or_404(session, Organisation, given.organisation_id, "organisation", _ORG_HINT)
    asset = Asset(**given.model_dump())
    session.add(asset)
    session.flush()
    return asset


def add_product(session: Session, code: str, name: str, unit_price: object, *,
                tax_rate: object = "0", kind: str = "service", currency: str | None = None,
                description: str = "", default_currency: str = "USD",
                prices_include_tax: bool = False) -> Product:
    """A catalogue product or service with its price and tax rate; a code is used once
    (``prices_include_tax``: the price is as printed, tax included)."""
    given = parse(ProductInput, code=code, name=name, unit_price=unit_price, tax_rate=tax_rate,
                  kind=kind, currency=currency, description=description)
    if session.exec(select(Product.id).where(Product.code == given.code)).first() is not None:
        raise ValidationFailed(f"a product with code {given.code!r} already exists",
                               hint=f"change it with `hub product edit {given.code} ...` or "
                                    f"choose another code")
    product = Product(**given.model_dump(exclude={"currency", "description"}),
                      currency=given.currency or _company_currency(default_currency),
                      description=given.description or given.name,
                      prices_include_tax=prices_include_tax)
    session.add(product)
    session.flush()
    return product


def add_future_item(session: Session, organisation_id: int, description: str, amount: object,
                    created_on: dt.date) -> FutureItem:
    """A debit (+) or credit (-) for the organisation's next invoice, in its currency and at
    most its minor unit."""
    given = parse(FutureItemInput, organisation_id=organisation_id, description=description,
                  amount=amount, created_on=created_on)
    org = billable_organisation(session, given.organisation_id)
    amount = exact_amount(given.amount, org.currency, "future item")
    item = FutureItem(organisation_id=org.id, description=given.description, amount=amount,
                      currency=org.currency, created_on=given.created_on)
    session.add(item)
    session.flush()
    return item


def product_by_code(session: Session, code: str) -> Product:
    """The product with ``code``."""
    product = session.exec(select(Product).where(Product.code == code)).first()
    if product is None:
        raise NotFound(f"no product with code {code!r}", hint="list them with `hub product list`")
    return product


def catalogue_price(product: Product, currency: str) -> Decimal:
    """The product's catalogue price for a line in ``currency``: only in the currency it is
    priced in (22.00 USD is not 22 JPY; there is no conversion)."""
    if product.currency != currency:
        raise ValidationFailed(f"product {product.code!r} is priced in {product.currency}; "
                               f"this line is in {currency}",
                               hint=f"give the line its own price in {currency} (--price)")
    return product.unit_price


def open_ticket(session: Session, organisation_id: int, number: str, subject: str, *,
                status: str = "New") -> Ticket:
    """A support ticket."""
    given = parse(TicketInput, organisation_id=organisation_id, number=number,
                  subject=subject, status=status)
    get_or_404(session, Organisation, given.organisation_id, "organisation", _ORG_HINT)
    ticket = Ticket(**given.model_dump())
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
    given = parse(TicketChargeInput, ticket_id=ticket_id, description=description,
                  quantity=quantity, unit_price=unit_price)
    ticket = get_or_404(session, Ticket, given.ticket_id, "ticket",
                        "list tickets with `hub org tickets`")
    charge = TicketCharge(ticket_id=ticket.id, organisation_id=ticket.organisation_id,
                          description=given.description, quantity=given.quantity,
                          unit_price=given.unit_price, is_labor=is_labor,
                          billable=billable, worked_at=worked_at, product_id=product_id,
                          labor_status=LaborStatus.charged if (charged or not is_labor)
                          else LaborStatus.not_charged)
    session.add(charge)
    session.flush()
    return charge


def charge_labor(session: Session, charge_id: int) -> TicketCharge:
    """Not Charged → Charged: the time entry will be offered to the next invoice."""
    charge = get_or_404(session, TicketCharge, charge_id, "ticket charge",
                        "see the ticket's charges with `hub org tickets --org ORG`")
    if charge.labor_status == LaborStatus.invoiced:
        raise ValidationFailed(f"ticket charge {charge_id} is already invoiced",
                               hint="credit the invoice instead of charging it again")
    if not charge.billable:
        raise ValidationFailed(f"ticket charge {charge_id} is not billable",
                               hint="mark it billable at the source first")
    charge.labor_status = LaborStatus.charged
    return charge
