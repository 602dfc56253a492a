"""Build the template context of an invoice, credit note or statement from the database.

Each builder reads what one document needs in the caller's session and returns a plain dict:
``company`` and ``customer`` (views), the document's own view, and ``generated_on``. Nothing is
written.
"""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select
from sqlmodel import Session

from hub.config import CompanySettings, HubSettings
from hub.core.money import Money
from hub.db.models.catalogue import Organisation
from hub.db.models.invoices import Invoice, InvoiceLine
from hub.db.models.ledger import CreditNote, CreditNoteLine
from hub.customer_docs.views import (
    CardView, CompanyView, CreditNoteView, CustomerView, InvoiceView, LineView, tax_breakdown,
)
from hub.errors import ConfigError, NotFound, ValidationFailed

__all__ = ["company_view", "customer_view", "invoice_context", "credit_note_context",
           "card_to_charge", "PAYMENT_PROFILES_MODULE"]

#: The stored payment profiles service (imported lazily: an install may have no payments).
PAYMENT_PROFILES_MODULE = "hub.ledger.payment_profiles"


def _resolve(path: Path, settings: HubSettings) -> Path:
    """A relative path in hub.toml is relative to that file, like every other tool does."""
    if path.is_absolute() or settings.config_file is None:
        return path.resolve()
    return (Path(settings.config_file).parent / path).resolve()


def company_view(settings: HubSettings) -> CompanyView:
    """The ``[company]`` settings as a view; a configured logo must exist."""
    company: CompanySettings = settings.company
    logo = None
    if company.logo is not None:
        logo = _resolve(company.logo, settings)
        if not logo.is_file():
            raise ConfigError(f"company.logo {logo} does not exist",
                              hint="point company.logo at a PNG or JPEG file, or remove it")
    return CompanyView(name=company.name, address=tuple(company.address), email=company.email,
                       phone=company.phone, website=company.website,
                       tax_number=company.tax_number, logo=logo,
                       payment_instructions=company.payment_instructions)


def _lines_of(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.splitlines() if part.strip())
    return tuple(str(part) for part in value if str(part).strip())


def customer_view(organisation: Organisation) -> CustomerView:
    """The organisation with its billing address (``attributes.billing_address``, else
    ``attributes.address``: seed 002 bills to the billing address when one is set)."""
    attrs = organisation.attributes or {}
    address = _lines_of(attrs.get("billing_address")) or _lines_of(attrs.get("address"))
    return CustomerView(id=organisation.id, name=organisation.name, email=organisation.email,
                        address=address, tax_number=attrs.get("tax_number"))


def _organisation(session: Session, organisation_id: int) -> Organisation:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"organisation {organisation_id} does not exist",
                       hint="list organisations with `hub org list`")
    return organisation


def card_to_charge(session: Session, invoice_id: int, today: dt.date) -> CardView | None:
    """The stored card the auto-charge of invoice ``invoice_id`` will use, by the same rule the
    charge itself follows (:func:`hub.ledger.payment_profiles.profile_to_charge`: the organisation's
    default card, allowed for auto-billing, not expired on ``today``).

    None when there is no such card (or no payments support is installed): the invoice then
    asks to be paid the ordinary way, since an automatic charge would fail.
    """
    try:
        profiles = importlib.import_module(PAYMENT_PROFILES_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name and PAYMENT_PROFILES_MODULE.startswith(exc.name):
            return None  # not installed; a broken module (missing dependency) still raises
        raise
    try:
        profile = profiles.profile_to_charge(session, invoice_id, today)
    except ValidationFailed:
        return None
    return CardView(brand=profile.brand, last4=profile.last4, exp_month=profile.exp_month,
                    exp_year=profile.exp_year)


def _invoice_line(line: InvoiceLine, currency: str) -> LineView:
    return LineView(description=line.description, quantity=line.quantity,
                    unit_price=line.unit_price, amount=Money(line.amount, currency),
                    tax_rate=line.tax_rate, tax_amount=Money(line.tax_amount, currency),
                    line_type=str(line.line_type), period_start=line.period_start,
                    period_end=line.period_end, change=line.change,
                    prorata_note=line.prorata_note, counted=len(line.provenance or ()))


def invoice_context(session: Session, settings: HubSettings, invoice_id: int,
                    today: dt.date, *,
                    card_lookup: Callable[[Session, int, dt.date], CardView | None]
                    = card_to_charge) -> dict[str, Any]:
    """Everything ``invoice.html`` needs for invoice ``invoice_id``; ``card_lookup`` finds the
    card an auto-billed invoice will be charged to."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} does not exist",
                       hint="find its id with `hub invoice list`")
    organisation = _organisation(session, invoice.organisation_id)
    cur = invoice.currency
    rows = session.execute(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id)
                           .order_by(InvoiceLine.position, InvoiceLine.id)).scalars().all()
    lines = tuple(_invoice_line(row, cur) for row in rows)
    auto_bill = bool(invoice.auto_bill)
    view = InvoiceView(
        id=invoice.id, number=invoice.number, kind=str(invoice.kind), status=str(invoice.status),
        currency=cur, issue_date=invoice.issue_date, due_date=invoice.due_date,
        period_start=invoice.period_start, period_end=invoice.period_end, lines=lines,
        subtotal=Money(invoice.subtotal, cur), tax_total=Money(invoice.tax_total, cur),
        total=Money(invoice.total, cur), amount_paid=Money(invoice.amount_paid, cur),
        credit_applied=Money(invoice.credit_applied, cur),
        amount_due=Money(invoice.amount_due, cur), note=invoice.note or "",
        memo=invoice.memo or "", auto_bill=auto_bill,
        card=card_lookup(session, invoice.id, today) if auto_bill else None,
        taxes=tuple(tax_breakdown(lines, cur)))
    return {"company": company_view(settings), "customer": customer_view(organisation),
            "invoice": view, "currency": cur, "generated_on": today}


def credit_note_context(session: Session, settings: HubSettings, credit_note_id: int,
                        today: dt.date) -> dict[str, Any]:
    """Everything ``credit_note.html`` needs for credit note ``credit_note_id``."""
    note = session.get(CreditNote, credit_note_id)
    if note is None:
        raise NotFound(f"credit note {credit_note_id} does not exist",
                       hint="find its id on the invoice it credits (`hub invoice show ID`)")
    organisation = _organisation(session, note.organisation_id)
    cur = note.currency
    rows = session.execute(select(CreditNoteLine).where(
        CreditNoteLine.credit_note_id == credit_note_id).order_by(CreditNoteLine.id)).scalars()
    lines = tuple(LineView(description=row.description, quantity=row.quantity,
                           unit_price=row.unit_price, amount=Money(row.amount, cur),
                           tax_rate=row.tax_rate, tax_amount=Money(row.tax_amount, cur))
                  for row in rows)
    invoice_number = None
    if note.invoice_id is not None:
        invoice = session.get(Invoice, note.invoice_id)
        invoice_number = invoice.number if invoice else None
    view = CreditNoteView(id=note.id, number=note.number, currency=cur, date=note.date,
                          reason=note.reason or "", invoice_number=invoice_number, lines=lines,
                          subtotal=Money(note.subtotal, cur), tax_total=Money(note.tax_total, cur),
                          total=Money(note.total, cur), taxes=tuple(tax_breakdown(lines, cur)))
    return {"company": company_view(settings), "customer": customer_view(organisation),
            "credit_note": view, "currency": cur, "generated_on": today}
