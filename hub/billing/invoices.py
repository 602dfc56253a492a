"""One-time and proforma invoices (seeds 000 and 002).

A one-time invoice is built as a draft — manual items, catalogue products, descriptions editable
after adding, a ticket's charged time and items, waiting future items when asked — and then
finalised (number, ledger debit, outbox). A proforma is never finalised and never reaches the
ledger; converting it makes a one-time invoice with the same lines.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlmodel import Session, select

from hub.host.context import HubContext
from hub.billing.catalogue import (
    billable_organisation, catalogue_price, get_or_404, product_by_code,
)
from hub.billing.finalise import finalise_invoices
from hub.core.lines import FutureItemRef, price_line, take_future_items, totals
from hub.core.money import Money, to_decimal
from hub.validation import parse
from hub.validation.fields import (
    NOTE_LENGTH, check_length, check_line_amount, check_not_far_ahead, check_not_far_back,
    check_total_amount,
)
from hub.validation.records import LineChanges, LineInput
from hub.db.models import (
    FutureItem, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LaborStatus,
    Ticket, TicketCharge,
)
from hub.errors import EditNotAllowed, ValidationFailed

__all__ = ["create_invoice", "add_line", "edit_line_description", "invoice_from_ticket",
           "load_future_items", "finalise", "convert_proforma", "recompute_totals",
           "lines_of"]

_HINT = "list invoices with `hub invoice list`"


def _draft(session: Session, invoice_id: int) -> Invoice:
    invoice = get_or_404(session, Invoice, invoice_id, "invoice", _HINT)
    if invoice.status != InvoiceStatus.draft:
        raise EditNotAllowed(f"invoice {invoice.number} is final; lines are added to drafts only",
                             hint="correct a final invoice with a credit note")
    return invoice


def lines_of(session: Session, invoice_id: int) -> list[InvoiceLine]:
    """The invoice's lines in order."""
    return list(session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id)
                             .order_by(InvoiceLine.position, InvoiceLine.id)).all())


def recompute_totals(session: Session, invoice: Invoice) -> Invoice:
    """Subtotal, tax and total from the lines."""
    session.flush()
    result = totals(((Money(l.amount, invoice.currency), Money(l.tax_amount, invoice.currency))
                     for l in lines_of(session, invoice.id)), invoice.currency)
    if result.total.is_negative:
        raise ValidationFailed("an invoice total cannot be negative",
                               hint="issue a credit note, or add a future item credit instead")
    try:  # refused here rather than by the column when the request's transaction commits
        for amount in (result.subtotal.amount, result.tax.amount, result.total.amount):
            check_total_amount(amount, invoice.currency)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    subtotal = result.subtotal
    if invoice.prices_include_tax:  # the lines' amounts already hold their tax
        subtotal = result.subtotal - result.tax
    invoice.subtotal, invoice.tax_total, invoice.total = (
        subtotal.amount, result.tax.amount, (subtotal + result.tax).amount)
    return invoice


def create_invoice(ctx: HubContext, session: Session, organisation_id: int, *,
                   issue_date: dt.date | None = None, proforma: bool = False,
                   note: str = "") -> Invoice:
    """A new draft one-time (or proforma) invoice dated ``issue_date`` (default: today)."""
    check_length(note, "invoice note", NOTE_LENGTH)
    org = billable_organisation(session, organisation_id)
    day = check_not_far_ahead(issue_date or ctx.today(), ctx.today(), "invoice date")
    check_not_far_back(day, ctx.today(), "invoice date")
    due_days = org.payment_due_days if org.payment_due_days is not None else \
        ctx.settings.company.payment_due_days
    invoice = Invoice(organisation_id=org.id, currency=org.currency, issue_date=day,
                      due_date=day + relativedelta(days=due_days), note=note,
                      kind=InvoiceKind.proforma if proforma else InvoiceKind.one_time,
                      auto_bill=org.auto_bill, created_at=ctx.clock())
    session.add(invoice)
    session.flush()
    return invoice


def add_line(session: Session, invoice_id: int, *, description: str | None = None,
             product_code: str | None = None, quantity: object = "1",
             unit_price: object | None = None, tax_rate: object | None = None,
             line_type: str = "standard", provenance: list | None = None) -> InvoiceLine:
    """A manual item, or a catalogue product (its price, tax and name unless overridden)."""
    given = parse(LineInput, description=description, product_code=product_code,
                  quantity=quantity, unit_price=unit_price, tax_rate=tax_rate)
    quantity, unit_price, tax_rate = given.quantity, given.unit_price, given.tax_rate
    invoice = _draft(session, invoice_id)
    product = product_by_code(session, product_code) if product_code else None
    if unit_price is None and product is None:
        raise ValidationFailed("a manual item needs a unit price",
                               hint="pass --price, or --product CODE for a catalogue product")
    price = to_decimal(unit_price) if unit_price is not None else \
        catalogue_price(product, invoice.currency)
    rate = to_decimal(tax_rate) if tax_rate is not None else (
        product.tax_rate if product else Decimal(0))
    try:  # each value fits its column; their product might not (a product's price, JPY)
        check_line_amount(quantity, price, rate, invoice.currency)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    priced = price_line(Money(price, invoice.currency), quantity, rate)
    line = InvoiceLine(invoice_id=invoice.id, position=len(lines_of(session, invoice.id)),
                       line_type=line_type, product_id=product.id if product else None,
                       description=description or (product.name if product else "Item"),
                       quantity=priced.quantity, unit_price=price, amount=priced.amount.amount,
                       tax_rate=rate, tax_amount=priced.tax.amount,
                       provenance=list(provenance or []))
    session.add(line)
    recompute_totals(session, invoice)
    return line


def edit_line_description(session: Session, line_id: int, description: str) -> InvoiceLine:
    """Change a line's description after adding it (seed 000's bonus step); the new one
    follows the rules of :func:`add_line`'s (not empty, not over-long)."""
    # The rules of a new line's description (add_line): not empty, at most Name's length.
    description = parse(LineChanges, description=description).description
    line = get_or_404(session, InvoiceLine, line_id, "invoice line", "see `hub invoice show ID`")
    invoice = session.get(Invoice, line.invoice_id)
    if invoice.locked_at is not None:
        raise EditNotAllowed(f"invoice {invoice.number} is synced to accounting",
                             hint="correct it with a credit note")
    if invoice.status not in (InvoiceStatus.draft, InvoiceStatus.unpaid):
        raise EditNotAllowed(f"invoice {invoice.number} is {invoice.status.value}; "
                             "its lines can no longer be edited",
                             hint="only note and memo can change now")
    line.description = description
    return line


def invoice_from_ticket(ctx: HubContext, session: Session, ticket_id: int, *,
                        issue_date: dt.date | None = None) -> Invoice:
    """A draft invoice from a ticket's charged time and items (Syncro's Make Invoice). The
    charges are reserved now and become *Invoiced* when the invoice is finalised."""
    ticket = get_or_404(session, Ticket, ticket_id, "ticket",
                        "list tickets with `hub org tickets --org ORG`")
    charges = session.exec(select(TicketCharge).where(
        TicketCharge.ticket_id == ticket.id, TicketCharge.labor_status == LaborStatus.charged,
        TicketCharge.billable, TicketCharge.invoice_line_id.is_(None))
        .order_by(TicketCharge.id)).all()
    if not charges:
        raise ValidationFailed(f"ticket #{ticket.number} has no charged, un-invoiced charges",
                               hint="charge its time first (labour status Not Charged → Charged)")
    invoice = create_invoice(ctx, session, ticket.organisation_id, issue_date=issue_date,
                             note=f"Ticket #{ticket.number}: {ticket.subject}")
    for charge in charges:
        line = add_line(session, invoice.id, description=charge.description,
                        quantity=charge.quantity, unit_price=charge.unit_price,
                        line_type="ticket_charge",
                        provenance=[{"ref": f"ticket_charge:{charge.id}",
                                     "label": f"#{ticket.number} {charge.description}"}])
        session.flush()
        charge.invoice_line_id = line.id
    return invoice


def load_future_items(session: Session, invoice_id: int) -> list[InvoiceLine]:
    """Seed 002's "Load items from uncharged transactions": take the organisation's waiting
    future items into this one-time invoice (credits only down to a zero total)."""
    invoice = _draft(session, invoice_id)
    items = session.exec(select(FutureItem).where(
        FutureItem.organisation_id == invoice.organisation_id, FutureItem.invoice_id.is_(None),
        FutureItem.used.is_(False)).order_by(FutureItem.id)).all()
    refs = [FutureItemRef(i.id, i.description, Money(i.amount, i.currency)) for i in items]
    taken = take_future_items(Money(invoice.total, invoice.currency), refs)
    by_id = {i.id: i for i in items}
    made = []
    for take in taken:
        line = add_line(session, invoice.id, description=take.item.description,
                        unit_price=take.taken.amount, line_type="future_item",
                        provenance=[{"ref": f"future_item:{take.item.id}",
                                     "label": take.item.description}])
        item = by_id[take.item.id]
        item.invoice_id, item.taken_amount = invoice.id, take.taken.amount
        made.append(line)
    return made


def finalise(ctx: HubContext, session: Session, invoice_id: int) -> Invoice:
    """Finalise a one-time draft: number, status unpaid, ledger, outbox."""
    invoice = get_or_404(session, Invoice, invoice_id, "invoice", _HINT)
    if not lines_of(session, invoice.id):
        raise ValidationFailed(f"invoice {invoice.id} has no lines",
                               hint="add one with `hub invoice add-line`")
    finalise_invoices(session, ctx, [invoice])
    return invoice


def convert_proforma(ctx: HubContext, session: Session, proforma_id: int, *,
                     issue_date: dt.date | None = None, finalise_now: bool = True) -> Invoice:
    """A one-time invoice with the proforma's lines; the proforma stays as it was."""
    proforma = get_or_404(session, Invoice, proforma_id, "invoice", _HINT)
    if proforma.kind != InvoiceKind.proforma:
        raise ValidationFailed(f"invoice {proforma_id} is not a proforma",
                               hint="only proforma invoices are converted")
    done = session.exec(select(Invoice).where(Invoice.converted_from_id == proforma.id)).first()
    if done is not None:
        # A proforma converts once, whatever became of its invoice (crediting it does not free
        # the proforma): the advice is what can actually be done.
        raise ValidationFailed(f"proforma {proforma_id} was already converted "
                               f"(invoice {done.number or done.id})",
                               hint="use that invoice (a credit note corrects it); to bill "
                                    "the work again, make a new draft with `hub invoice "
                                    f"create {proforma.organisation_id}` and add its lines")
    if not lines_of(session, proforma.id):
        # As `finalise` refuses an empty draft: converting would number an invoice of 0.00
        # that is "paid" at once.
        raise ValidationFailed(f"proforma {proforma_id} has no lines",
                               hint="add one with `hub invoice add-line`, then convert it")
    invoice = create_invoice(ctx, session, proforma.organisation_id, issue_date=issue_date,
                             note=proforma.note)
    invoice.converted_from_id = proforma.id
    for line in lines_of(session, proforma.id):
        session.add(InvoiceLine(**line.model_dump(exclude={"id", "invoice_id"}),
                                invoice_id=invoice.id))
    recompute_totals(session, invoice)
    if finalise_now:
        finalise_invoices(session, ctx, [invoice])
    return invoice
