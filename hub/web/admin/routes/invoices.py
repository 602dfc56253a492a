"""Invoices: the paged list, one invoice with its linked documents both ways, its PDF, and the
approver's actions (record a payment, credit it, send it by email, edit note and memo)."""

from __future__ import annotations

from decimal import Decimal

from fastapi import Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from hub import audit
from hub.db.engine import session_scope
from hub.db.models import CreditNote, Invoice, InvoiceLine, InvoiceStatus, Organisation, Payment
from hub.db.models.sync import ExternalLink
from hub.errors import NotFound, ValidationFailed
from hub.web.admin.forms import date_field, decimal_field, required_text
from hub.web.admin.once import Outcome, form_key, sent_once
from hub.web.admin.paging import paginate
from hub.web.admin.rendering import render
from hub.web.admin.routes import page_router
from hub.web.admin.security import PageUser, approver, viewer

router = page_router()

#: Status filter choices of the list (``open`` = anything still owed).
STATUSES = [s.value for s in InvoiceStatus]
_OPEN = (InvoiceStatus.unpaid, InvoiceStatus.pending, InvoiceStatus.partially_paid,
         InvoiceStatus.overdue)


@router.get("/invoices")
def invoices(request: Request, page: int = 1, status: str = "", q: str = "",
             organisation_id: int | None = None, overdue: bool = False,
             user: PageUser = Depends(viewer)):
    """Final and draft invoices, newest first; filter by status, number or organisation."""
    ctx = request.app.state.ctx
    it, ot = Invoice.__table__, Organisation.__table__
    query = (select(it.c.id, it.c.number, it.c.status, it.c.kind, it.c.issue_date, it.c.due_date,
                    it.c.currency, it.c.total, it.c.amount_paid, it.c.credit_applied,
                    it.c.locked_at, it.c.organisation_id, ot.c.name.label("organisation"))
             .join(ot, ot.c.id == it.c.organisation_id))
    if status == "open":
        query = query.where(it.c.status.in_([s.value for s in _OPEN]))
    elif status:
        query = query.where(it.c.status == status)
    if overdue:
        query = query.where(it.c.status.in_([s.value for s in _OPEN]),
                            it.c.due_date < ctx.today())
    if organisation_id is not None:
        query = query.where(it.c.organisation_id == organisation_id)
    if q:
        query = query.where((it.c.number.ilike(f"%{q}%")) | (ot.c.name.ilike(f"%{q}%")))
    with session_scope(ctx.engine) as session:
        pg = paginate(session, query.order_by(it.c.id.desc()), page)
    return render(request, "invoices.html", pg=pg, status=status, q=q, overdue=overdue,
                  statuses=["open"] + STATUSES, organisation_id=organisation_id)


def _invoice(session, invoice_id: int) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"no invoice {invoice_id}", hint="it may have been deleted completely")
    return invoice


def lock_reason(document) -> str | None:
    """Why a document cannot be edited any more, in words (None when it can)."""
    if document.locked_at is not None:
        return (f"synced to {document.locked_by or 'accounting'} on "
                f"{document.locked_at:%Y-%m-%d}: it is locked and only a credit note can "
                "correct it")
    return None


@router.get("/invoices/{invoice_id:int}")
def invoice_page(request: Request, invoice_id: int, user: PageUser = Depends(viewer)):
    """One invoice: lines, payments and credit notes linked to it, its pushes, its history."""
    from hub.ledger import links_of_invoice

    ctx = request.app.state.ctx
    with session_scope(ctx.engine) as session:
        invoice = _invoice(session, invoice_id)
        org = session.get(Organisation, invoice.organisation_id)
        lines = session.execute(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id)
                                .order_by(InvoiceLine.position, InvoiceLine.id)).scalars().all()
        links = links_of_invoice(session, invoice_id)
        notes = {n.id: n for n in session.execute(select(CreditNote).where(
            CreditNote.id.in_([n["id"] for n in links["credit_notes"]]))).scalars()}
        payments = {p.id: p for p in session.execute(select(Payment).where(
            Payment.id.in_([p["id"] for p in links["payments"]]))).scalars()}
        external = session.execute(select(ExternalLink).where(
            ExternalLink.document_kind == "invoice", ExternalLink.document_id == invoice_id)
        ).scalars().all()
        history = audit.list_events(session, target_type="invoice", target_id=invoice_id,
                                    per_page=100).events
        if invoice.batch_id is not None:
            history += audit.list_events(session, target_type="batch",
                                         target_id=invoice.batch_id, per_page=20).events
            history.sort(key=lambda e: e.id, reverse=True)
    return render(request, "invoice.html", invoice=invoice, org=org, lines=lines, links=links,
                  notes=notes, payments=payments, external=external, history=history,
                  locked=lock_reason(invoice), today=ctx.today())


@router.get("/invoices/{invoice_id:int}/pdf")
def invoice_pdf(request: Request, invoice_id: int, user: PageUser = Depends(viewer)):
    """The invoice as the customer gets it."""
    from hub.customer_docs import DocumentRenderer

    ctx = request.app.state.ctx
    with session_scope(ctx.engine) as session:
        document = DocumentRenderer(ctx.settings, today=ctx.today).invoice(session, invoice_id)
    return Response(document.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{document.filename}"'})


@router.post("/invoices/{invoice_id:int}/payments")
def record_payment(request: Request, invoice_id: int, amount: str = Form(""),
                   method: str = Form("bank_transfer"), date: str = Form(""),
                   reference: str = Form(""), once_key: str = Form(""),
                   user: PageUser = Depends(approver)):
    """Record a payment for this invoice (an overpayment stays on the account); once, however
    often the form is sent (:mod:`hub.web.admin.once`)."""
    from hub.ledger import ledger_session, record_payment as record

    ctx = request.app.state.ctx
    value = decimal_field(amount, "amount")
    if value <= 0:
        raise ValidationFailed("a payment must be more than zero")
    paid_on = date_field(date, "date", ctx.today())
    key = form_key(once_key)
    with ledger_session(ctx) as session:
        def work() -> Outcome:
            invoice = _invoice(session, invoice_id)
            pay = record(session, invoice.organisation_id, value, date=paid_on,
                         today=ctx.today(), method=method, invoice_id=invoice_id,
                         reference=reference)
            return Outcome(f"/admin/invoices/{invoice_id}", f"Payment {pay.id} recorded",
                           f"Payment {pay.id} was already recorded (the form was sent twice); "
                           "nothing was recorded again")

        return sent_once(request, session, key, work)


@router.post("/invoices/{invoice_id:int}/credit")
def credit(request: Request, invoice_id: int, mode: str = Form("whole"),
           percent: str = Form(""), reason: str = Form(""), once_key: str = Form(""),
           user: PageUser = Depends(approver)):
    """Credit the whole invoice or a percentage of it (the way to correct a locked invoice);
    once, however often the form is sent (:mod:`hub.web.admin.once`)."""
    from hub.ledger import create_credit_note, ledger_session

    ctx = request.app.state.ctx
    if mode not in ("whole", "percent"):
        # anything else reached the ledger as "no lines", refused in the CLI's words
        raise ValidationFailed(f"unknown credit mode {mode[:40]!r}",
                               hint="credit the whole invoice or a percentage of it")
    reason = required_text(reason, "reason",
                           "say why the invoice is credited; it is kept with the credit note")
    share = decimal_field(percent, "percent") if mode == "percent" else None
    if share is not None and not Decimal(0) < share <= Decimal(100):
        raise ValidationFailed("the percentage must be above 0 and at most 100")
    key = form_key(once_key)
    with ledger_session(ctx) as session:
        def work() -> Outcome:
            note = create_credit_note(session, invoice_id=invoice_id, whole=mode == "whole",
                                      percent=share, date=ctx.today(), today=ctx.today(),
                                      reason=reason)
            return Outcome(f"/admin/credit-notes/{note.id}", "Credit note created",
                           f"Credit note {note.number or note.id} was already created (the "
                           "form was sent twice); nothing was credited again")

        return sent_once(request, session, key, work)


@router.post("/invoices/{invoice_id:int}/send")
def send(request: Request, invoice_id: int, to: str = Form(""),
         user: PageUser = Depends(approver)):
    """Queue the invoice's email (a retried job; see the sends on the invoice page)."""
    from hub.customer_docs.sending import queue_invoice_send

    ctx = request.app.state.ctx
    with session_scope(ctx.engine) as session:
        _invoice(session, invoice_id)
    row_id = queue_invoice_send(ctx.engine, invoice_id, to=to.strip() or None)
    with session_scope(ctx.engine) as session:
        audit.record(session, "invoice.send_requested", "invoice", invoice_id,
                     summary=f"to {to.strip() or 'the organisation'} (outbox row {row_id})")
    return RedirectResponse(f"/admin/invoices/{invoice_id}?done=Email+queued", status_code=303)


@router.post("/invoices/{invoice_id:int}/edit")
def edit(request: Request, invoice_id: int, note: str = Form(""), memo: str = Form(""),
         user: PageUser = Depends(approver)):
    """Change the note and memo (allowed in every status except locked)."""
    from hub.ledger import edit_invoice, ledger_session

    ctx = request.app.state.ctx
    with ledger_session(ctx) as session:
        invoice = _invoice(session, invoice_id)
        changes = {k: v for k, v in (("note", note), ("memo", memo))
                   if v != getattr(invoice, k)}
        if changes:
            edit_invoice(session, invoice_id, changes, today=ctx.today())
    done = "Saved" if changes else "Nothing+changed"
    return RedirectResponse(f"/admin/invoices/{invoice_id}?done={done}", status_code=303)
