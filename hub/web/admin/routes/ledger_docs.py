"""Credit notes and payments: paged lists and detail pages with their linked documents both
ways; credit-note PDFs; refunding a payment (approver)."""

from __future__ import annotations

from fastapi import Depends, Form, Request, Response
from sqlalchemy import select

from hub import audit
from hub.core.money import shown
from hub.db.engine import session_scope
from hub.db.models import CreditNote, CreditNoteLine, Organisation, Payment
from hub.errors import NotFound, ValidationFailed
from hub.web.admin.forms import decimal_field, required_text
from hub.web.admin.once import Outcome, form_key, sent_once
from hub.web.admin.paging import paginate
from hub.web.admin.rendering import render
from hub.web.admin.routes import page_router
from hub.web.admin.routes.invoices import lock_reason
from hub.web.admin.security import PageUser, approver, viewer

router = page_router()


@router.get("/credit-notes")
def credit_notes(request: Request, page: int = 1, q: str = "", user: PageUser = Depends(viewer)):
    """Credit notes, newest first."""
    ctx = request.app.state.ctx
    ct, ot = CreditNote.__table__, Organisation.__table__
    query = select(ct, ot.c.name.label("organisation")).join(ot, ot.c.id == ct.c.organisation_id)
    if q:
        query = query.where(ct.c.number.ilike(f"%{q}%") | ot.c.name.ilike(f"%{q}%"))
    with session_scope(ctx.engine) as session:
        pg = paginate(session, query.order_by(ct.c.id.desc()), page)
    return render(request, "credit_notes.html", pg=pg, q=q)


@router.get("/credit-notes/{note_id:int}")
def credit_note_page(request: Request, note_id: int, user: PageUser = Depends(viewer)):
    """One credit note: its lines, the invoice it corrects and the invoices it paid."""
    from hub.ledger import links_of_credit_note

    ctx = request.app.state.ctx
    with session_scope(ctx.engine) as session:
        note = session.get(CreditNote, note_id)
        if note is None:
            raise NotFound(f"no credit note {note_id}")
        org = session.get(Organisation, note.organisation_id)
        lines = session.execute(select(CreditNoteLine).where(
            CreditNoteLine.credit_note_id == note_id)).scalars().all()
        links = links_of_credit_note(session, note_id)
        history = audit.list_events(session, target_type="credit_note", target_id=note_id).events
    return render(request, "credit_note.html", note=note, org=org, lines=lines, links=links,
                  history=history, locked=lock_reason(note))


@router.get("/credit-notes/{note_id:int}/pdf")
def credit_note_pdf(request: Request, note_id: int, user: PageUser = Depends(viewer)):
    """The credit note as the customer gets it."""
    from hub.customer_docs import DocumentRenderer

    ctx = request.app.state.ctx
    with session_scope(ctx.engine) as session:
        document = DocumentRenderer(ctx.settings, today=ctx.today).credit_note(session, note_id)
    return Response(document.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{document.filename}"'})


@router.get("/payments")
def payments(request: Request, page: int = 1, q: str = "", user: PageUser = Depends(viewer)):
    """Payments and refunds, newest first."""
    ctx = request.app.state.ctx
    pt, ot = Payment.__table__, Organisation.__table__
    query = select(pt, ot.c.name.label("organisation")).join(ot, ot.c.id == pt.c.organisation_id)
    if q:
        query = query.where(pt.c.reference.ilike(f"%{q}%") | ot.c.name.ilike(f"%{q}%"))
    with session_scope(ctx.engine) as session:
        pg = paginate(session, query.order_by(pt.c.id.desc()), page)
    return render(request, "payments.html", pg=pg, q=q)


@router.get("/payments/{payment_id:int}")
def payment_page(request: Request, payment_id: int, user: PageUser = Depends(viewer)):
    """One payment: the invoices it paid, its refunds, its history."""
    from hub.ledger import links_of_payment
    from hub.ledger.refund_requests import refunds_on_their_way, taken_by_processor

    ctx = request.app.state.ctx
    with session_scope(ctx.engine) as session:
        payment = session.get(Payment, payment_id)
        if payment is None:
            raise NotFound(f"no payment {payment_id}")
        org = session.get(Organisation, payment.organisation_id)
        links = links_of_payment(session, payment_id)
        # Asked of the processor, not yet in the ledger: without them the page showed no
        # refund at all after one was requested, and the clerk would ask again.
        asked = [(row.id, row.payload["amount"]) for row in refunds_on_their_way(session, payment)]
        history = audit.list_events(session, target_type="payment", target_id=payment_id).events
    return render(request, "payment.html", payment=payment, org=org, links=links,
                  asked=asked, history=history, locked=lock_reason(payment), today=ctx.today(),
                  by_processor=taken_by_processor(payment, ctx.connection_names("payments")))


@router.post("/payments/{payment_id:int}/refund")
def refund(request: Request, payment_id: int, amount: str = Form(""), reason: str = Form(""),
           once_key: str = Form(""), user: PageUser = Depends(approver)):
    """Refund (part of) a payment as the REST API does: a payment taken by a processor is
    refunded through it (the ledger refund follows its confirmation), any other in the ledger;
    once, however often the form is sent (:mod:`hub.web.admin.once`)."""
    from hub.ledger import ledger_session, refund_where_taken

    ctx = request.app.state.ctx
    reason = required_text(reason, "reason", "it is kept with the refund in the audit trail")
    value = decimal_field(amount, "amount") if amount.strip() else None
    if value is not None and value <= 0:
        raise ValidationFailed("a refund must be more than zero")
    key, page = form_key(once_key), f"/admin/payments/{payment_id}"
    with ledger_session(ctx) as session:
        def work() -> Outcome:
            row = refund_where_taken(session, payment_id, value, date=ctx.today(),
                                     processors=ctx.connection_names("payments"),
                                     today=ctx.today(), reason=reason)
            if isinstance(row, Payment):
                return Outcome(page, f"Refund {row.id} recorded",
                               f"Refund {row.id} was already recorded (the form was sent "
                               "twice); nothing was refunded again")
            # in the currency's minor unit: the payload keeps the amount as typed or as
            # stored (``10.5``, ``900.5000``)
            asked = shown(row.payload["amount"], row.payload["currency"])
            return Outcome(page, f"Refund of {asked} requested from {row.connection}; it is "
                                 f"recorded when {row.connection} confirms",
                           f"The refund of {asked} was already requested from "
                           f"{row.connection} (the form was sent twice); nothing was requested "
                           "again")

        return sent_once(request, session, key, work)
