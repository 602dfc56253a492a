"""Ledger over HTTP: payments and refunds, invoice edits and deletion (under ``/ledger``) and
credit notes (accounts and statements are in :mod:`.ledger_accounts`, pre-bills in
:mod:`.ledger_prebills`).

Each request is one transaction: everything is validated before anything is written, and a
refusal (status rules, locks, deleted documents) is a 4xx whose ``detail`` says what to do.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Optional

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from hub.validation.fields import MAX_ID, Amount, Day, Id, Note, Reason, Reference, TaxRate
from hub.validation.records import InvoiceChanges
from hub.host.context import HubContext
from hub.web.deps import RowId, get_context, require_token
from hub.web.routers.ledger_common import (
    Keyed, LedgerIn as _In, invoice_out as _invoice_out, json_ready, payment_out as _payment_out,
    session_of as _session,
)

__all__ = ["router"]

router = APIRouter(tags=["ledger"], dependencies=[Depends(require_token)])



class PaymentIn(_In):
    """A payment: for one invoice, split by ``allocations`` (invoice id -> amount), or
    allocated automatically (open debits first, then invoices in the order they were created).
    Amounts are whole minor units of the organisation's currency (finer ones are refused);
    ``currency``, if given, must be the organisation's: payments are in its currency."""

    organisation_id: Id
    amount: Amount = Field(gt=0)
    currency: Optional[str] = Field(None, description="must be the organisation's currency")
    method: str = "other"
    date: Optional[Day] = None
    invoice_id: Optional[Id] = None
    allocations: Optional[dict[Id, Amount]] = None
    reference: Reference = ""
    note: Note = ""


class RefundIn(_In):
    """A refund of (part of) a payment; default: everything still refundable."""

    amount: Optional[Amount] = Field(None, gt=0)
    reason: Reason = ""
    date: Optional[Day] = None


class AmountIn(_In):
    """An optional amount (default: as much as possible)."""

    amount: Optional[Amount] = Field(None, gt=0)


class MarkPaidIn(_In):
    """Quick payment of the whole amount due."""

    method: str = "other"
    date: Optional[Day] = None


class CreditLineIn(_In):
    """A credit note line (tax rate in percent)."""

    description: str
    unit_price: Amount
    quantity: Amount = Decimal(1)
    tax_rate: TaxRate = Decimal(0)
    invoice_line_id: Optional[Id] = None


class CreditNoteIn(_In):
    """Against an invoice (``whole``, ``percent`` or ``lines``) or standalone (organisation)."""

    invoice_id: Optional[Id] = None
    organisation_id: Optional[Id] = None
    whole: bool = False
    percent: Optional[Amount] = None
    lines: list[CreditLineIn] = []
    apply: bool = True
    reason: Reason = ""
    date: Optional[Day] = None




# ------------------------------------------------------------------------------ payments
@router.post("/payments", status_code=201, summary="Record a payment")
def add_payment(body: PaymentIn, once: Keyed,
                ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Record a payment; an overpayment stays on the account, never on the invoice."""
    from hub.ledger import record_payment

    with _session(ctx) as session:
        out = once.run(session, lambda: _payment_out(session, record_payment(
            session, body.organisation_id, body.amount, date=body.date or ctx.today(),
            today=ctx.today(), method=body.method, invoice_id=body.invoice_id,
            allocations=body.allocations, reference=body.reference, note=body.note,
            currency=body.currency)))
    _tell_account_changes(ctx)
    return out


def _tell_account_changes(ctx: HubContext) -> None:
    from hub.ledger import notify_state_changes

    notify_state_changes(ctx)


@router.get("/payments", summary="List payments and refunds")
def list_payments(organisation_id: Optional[int] = Query(None, ge=1, le=MAX_ID),
                  ctx: HubContext = Depends(get_context)) -> list[dict[str, Any]]:
    """Payments (refunds have negative amounts) with the invoices they paid."""
    from sqlmodel import select

    from hub.db.models import Payment

    with _session(ctx) as session:
        query = select(Payment).order_by(Payment.id)
        if organisation_id is not None:
            query = query.where(Payment.organisation_id == organisation_id)
        return [_payment_out(session, p) for p in session.exec(query)]


@router.get("/payments/{payment_id:int}", summary="A payment with its links")
def show_payment(payment_id: RowId, ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """The payment, the invoices it paid and its refunds."""
    from hub.db.models import Payment
    from hub.errors import NotFound

    with _session(ctx) as session:
        pay = session.get(Payment, payment_id)
        if pay is None:
            raise NotFound(f"no payment with id {payment_id}")
        return _payment_out(session, pay)


@router.post("/payments/{payment_id:int}/refund", status_code=201, summary="Refund a payment")
def refund_payment(payment_id: RowId, body: RefundIn, once: Keyed,
                   ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """A negative payment; it reopens what the payment paid if its free part is not enough.
    A processor's payment is refunded at the processor (answer ``requested``); the ledger
    refund follows from the processor's refund event. Asking for more than is left once the
    requests still on their way are counted is refused with 409, naming them."""
    from hub.db.models import Payment
    from hub.ledger import refund_where_taken

    with _session(ctx) as session:
        def refund() -> dict[str, Any]:
            row = refund_where_taken(session, payment_id, body.amount,
                                     date=body.date or ctx.today(), today=ctx.today(),
                                     processors=ctx.connection_names("payments"),
                                     reason=body.reason)
            if not isinstance(row, Payment):
                return {"requested": True, "connection": row.connection, **row.payload}
            return _payment_out(session, row)
        return once.run(session, refund)


@router.post("/payments/{payment_id:int}/allocate", summary="Allocate a payment manually")
def allocate(payment_id: RowId, body: dict[Id, Amount], once: Keyed,
             ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Allocate the unallocated part of the payment: ``{invoice_id: amount}``."""
    from hub.db.models import Payment
    from hub.ledger import allocate_payment

    with _session(ctx) as session:
        def allocation() -> dict[str, Any]:
            allocate_payment(session, payment_id, body, today=ctx.today())
            return _payment_out(session, session.get(Payment, payment_id))
        return once.run(session, allocation)


# ------------------------------------------------------------------------------ invoices
@router.get("/ledger/invoices/{invoice_id:int}", summary="An invoice's ledger view")
def invoice_ledger(invoice_id: RowId, ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Status, amounts and the linked payments and credit notes."""
    from hub.ledger._base import get_invoice

    with _session(ctx) as session:
        return _invoice_out(session, get_invoice(session, invoice_id))


@router.patch("/ledger/invoices/{invoice_id:int}", summary="Edit an invoice")
def edit(invoice_id: RowId, changes: InvoiceChanges,
         ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Change fields the invoice's status allows (``lines`` replaces every item); a badly
    typed or unknown field is a 422, as is an empty body (nothing to change, as in the CLI:
    no audit event is written), a synced invoice a 409 (credit it)."""
    from hub.ledger import edit_invoice

    with _session(ctx) as session:
        return _invoice_out(session, edit_invoice(session, invoice_id, changes.given(),
                                                  today=ctx.today()))


@router.delete("/ledger/invoices/{invoice_id:int}", summary="Delete an invoice")
def delete(invoice_id: RowId, completely: bool = Query(False, description="delete for good"),
           ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Mark an unpaid invoice as deleted, or delete it completely; never a synced one."""
    from hub.ledger import delete_completely, mark_deleted

    with _session(ctx) as session:
        result = (delete_completely(session, invoice_id, today=ctx.today()) if completely
                  else mark_deleted(session, invoice_id, when=ctx.clock()))
        return result.__dict__


@router.post("/ledger/invoices/{invoice_id:int}/mark-paid", status_code=201,
             summary="Quick payment")
def mark_paid(invoice_id: RowId, body: MarkPaidIn, once: Keyed,
              ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Pay the whole amount due with one call."""
    from hub.ledger import mark_paid as pay

    with _session(ctx) as session:
        return once.run(session, lambda: _payment_out(session, pay(
            session, invoice_id, date=body.date or ctx.today(), today=ctx.today(),
            method=body.method)))


@router.post("/ledger/invoices/{invoice_id:int}/pay-from-balance", summary="Paid from balance")
def pay_from_balance(invoice_id: RowId, body: AmountIn, once: Keyed,
                     ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Apply the customer's account credit to the invoice."""
    from hub.ledger import apply_account_credit

    with _session(ctx) as session:
        return once.run(session, lambda: _invoice_out(session, apply_account_credit(
            session, invoice_id, body.amount, today=ctx.today())))


# ------------------------------------------------------------------------------ credit notes
@router.post("/credit-notes", status_code=201, summary="Create a credit note")
def add_credit_note(body: CreditNoteIn, once: Keyed,
                    ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Against an invoice (applied to its amount due unless ``apply`` is false) or standalone."""
    from hub.ledger import CreditLine, create_credit_note, links_of_credit_note

    company = ctx.settings.company
    with _session(ctx) as session:
        def create() -> dict[str, Any]:
            note = create_credit_note(
                session, organisation_id=body.organisation_id, invoice_id=body.invoice_id,
                lines=[CreditLine(**l.model_dump()) for l in body.lines], whole=body.whole,
                percent=body.percent, date=body.date or ctx.today(), today=ctx.today(),
                reason=body.reason, apply=body.apply,
                number_format=company.credit_note_number_format, partner_id=company.partner_id)
            return json_ready({**note.model_dump(mode="json"),
                               "links": links_of_credit_note(session, note.id)})
        return once.run(session, create)


@router.get("/credit-notes", summary="List credit notes")
def list_credit_notes(organisation_id: Optional[int] = Query(None, ge=1, le=MAX_ID),
                      ctx: HubContext = Depends(get_context)) -> list[dict[str, Any]]:
    """Credit notes with their lines, unapplied credit and links (the invoice each corrects,
    the invoices it was applied to)."""
    from sqlmodel import select

    from hub.db.models import CreditNote
    from hub.ledger import credit_note_view

    with _session(ctx) as session:
        query = select(CreditNote).order_by(CreditNote.id)
        if organisation_id is not None:
            query = query.where(CreditNote.organisation_id == organisation_id)
        return [json_ready(credit_note_view(session, n)) for n in session.exec(query)]


@router.get("/credit-notes/{ref}", summary="A credit note by number or id")
def show_credit_note(ref: str, ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """The credit note named by its number (or else its id), with lines and links."""
    from hub.ledger import credit_note_view, find_credit_note

    with _session(ctx) as session:
        return json_ready(credit_note_view(session, find_credit_note(session, ref)))


@router.post("/credit-notes/{credit_note_id:int}/apply/{invoice_id:int}",
             summary="Apply a credit note to an invoice")
def apply_note(credit_note_id: RowId, invoice_id: RowId, body: AmountIn, once: Keyed,
               ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Apply the credit note's unapplied credit to an invoice of the same organisation."""
    from hub.ledger import apply_credit_note

    with _session(ctx) as session:
        return once.run(session, lambda: _invoice_out(session, apply_credit_note(
            session, credit_note_id, invoice_id, body.amount, today=ctx.today())))
