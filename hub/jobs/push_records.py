"""Build the records a push hook receives from the database, and lock what was synced.

Invoices come from ``invoice``/``invoiceline``; credit notes (with their allocations) and
payments from the ledger's tables. ``organisation_ref`` is the organisation's id at the target
when an :class:`OrganisationMapping` for that connection exists.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Sequence

from sqlalchemy import select, update
from sqlmodel import Session

from hub.core.money import Money
from hub.db.models.catalogue import Organisation, OrganisationMapping
from hub.db.models.invoices import Invoice, InvoiceLine
from hub.contract.records import CreditNoteDoc, InvoiceDoc, LineDoc, PaymentDoc
from hub.errors import HubError, NotFound, PermanentError

__all__ = ["build_documents", "lock_documents", "build_invoice_docs", "build_invoice_doc",
           "build_credit_note_doc", "build_payment_doc", "PUSH_HOOKS"]

#: document kind -> (push hook name, keyword the hook takes the documents by)
PUSH_HOOKS: dict[str, tuple[str, str]] = {
    "invoice": ("hub_push_invoices", "invoices"),
    "credit_note": ("hub_push_credit_notes", "credit_notes"),
    "payment": ("hub_push_payments", "payments"),
}


def _money(value, currency: str) -> Money:
    return Money(value, currency)


def build_invoice_docs(session: Session, invoice_ids: Sequence[int],
                       connection: str) -> dict[int, InvoiceDoc | HubError]:
    """The finalised invoices ``invoice_ids`` as :class:`~hub.contract.records.InvoiceDoc`, loaded in
    four queries whatever their number; a missing or draft invoice maps to its error."""
    ids = list(invoice_ids)
    invoices = {i.id: i for i in session.execute(
        select(Invoice).where(Invoice.id.in_(ids))).scalars()}
    lines: dict[int, list[InvoiceLine]] = defaultdict(list)
    for line in session.execute(select(InvoiceLine).where(InvoiceLine.invoice_id.in_(ids))
                                .order_by(InvoiceLine.position, InvoiceLine.id)).scalars():
        lines[line.invoice_id].append(line)
    org_ids = {i.organisation_id for i in invoices.values()}
    names = dict(session.execute(select(Organisation.id, Organisation.name)
                                 .where(Organisation.id.in_(org_ids))).all())
    refs = dict(session.execute(select(OrganisationMapping.organisation_id,
                                       OrganisationMapping.external_id).where(
        OrganisationMapping.connection == connection,
        OrganisationMapping.organisation_id.in_(org_ids))).all())
    result: dict[int, InvoiceDoc | HubError] = {}
    for invoice_id in ids:
        invoice = invoices.get(invoice_id)
        if invoice is None:
            result[invoice_id] = NotFound(f"invoice {invoice_id} does not exist")
            continue
        if not invoice.number:
            result[invoice_id] = PermanentError(
                f"invoice {invoice_id} has no number: it is still a draft",
                hint="confirm its batch before pushing it")
            continue
        cur = invoice.currency
        result[invoice_id] = InvoiceDoc(
            id=invoice.id, number=invoice.number, organisation_id=invoice.organisation_id,
            organisation_name=names.get(invoice.organisation_id, ""),
            organisation_ref=refs.get(invoice.organisation_id), issue_date=invoice.issue_date,
            due_date=invoice.due_date, currency=cur,
            lines=tuple(LineDoc(description=line.description, quantity=str(line.quantity),
                                unit_price=_money(line.unit_price, cur),
                                amount=_money(line.amount, cur), tax_rate=str(line.tax_rate),
                                tax_amount=_money(line.tax_amount, cur),
                                line_type=str(line.line_type))
                        for line in lines[invoice_id]),
            subtotal=_money(invoice.subtotal, cur), tax_total=_money(invoice.tax_total, cur),
            total=_money(invoice.total, cur), reference=invoice.memo or None,
            prices_include_tax=invoice.prices_include_tax)
    return result


def build_invoice_doc(session: Session, invoice_id: int, connection: str) -> InvoiceDoc:
    """The finalised invoice ``invoice_id`` as :class:`~hub.contract.records.InvoiceDoc`."""
    doc = build_invoice_docs(session, [invoice_id], connection)[invoice_id]
    if isinstance(doc, HubError):
        raise doc
    return doc


def _organisation(session: Session, organisation_id: int, connection: str) -> tuple[str, str | None]:
    organisation = session.get(Organisation, organisation_id)
    ref = session.execute(select(OrganisationMapping.external_id).where(
        OrganisationMapping.connection == connection,
        OrganisationMapping.organisation_id == organisation_id)).scalars().first()
    return (organisation.name if organisation else ""), ref


def build_credit_note_doc(session: Session, credit_note_id: int, connection: str) -> CreditNoteDoc:
    """The credit note ``credit_note_id`` with its lines and the invoices it is applied to."""
    from hub.db.models.ledger import Allocation, CreditNote, CreditNoteLine

    note = session.get(CreditNote, credit_note_id)
    if note is None:
        raise NotFound(f"credit note {credit_note_id} does not exist")
    cur = note.currency
    name, ref = _organisation(session, note.organisation_id, connection)
    lines = session.execute(select(CreditNoteLine).where(
        CreditNoteLine.credit_note_id == credit_note_id).order_by(CreditNoteLine.id)).scalars()
    allocations = session.execute(select(Allocation.invoice_id, Allocation.amount).where(
        Allocation.credit_note_id == credit_note_id, Allocation.invoice_id.is_not(None))
        .order_by(Allocation.id)).all()
    invoice = session.get(Invoice, note.invoice_id) if note.invoice_id else None
    return CreditNoteDoc(
        id=note.id, number=note.number, organisation_id=note.organisation_id,
        organisation_name=name, organisation_ref=ref, issue_date=note.date, currency=cur,
        lines=tuple(LineDoc(description=line.description, quantity=str(line.quantity),
                            unit_price=_money(line.unit_price, cur), amount=_money(line.amount, cur),
                            tax_rate=str(line.tax_rate), tax_amount=_money(line.tax_amount, cur))
                    for line in lines),
        total=_money(note.total, cur), invoice_id=note.invoice_id,
        invoice_number=invoice.number if invoice else None,
        allocations=tuple((invoice_id, _money(amount, cur)) for invoice_id, amount in allocations))


def build_payment_doc(session: Session, payment_id: int, connection: str) -> PaymentDoc:
    """The payment (or refund, negative) ``payment_id`` and the invoice it pays."""
    from hub.db.models.ledger import Payment

    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(f"payment {payment_id} does not exist")
    invoice = session.get(Invoice, payment.invoice_id) if payment.invoice_id else None
    return PaymentDoc(
        id=payment.id, organisation_id=payment.organisation_id, invoice_id=payment.invoice_id,
        invoice_number=invoice.number if invoice else None, date=payment.date,
        amount=_money(payment.amount, payment.currency), method=str(payment.method),
        reference=payment.reference or payment.processor_object_id or None,
        reversal_of=payment.refund_of_id)


def build_documents(session: Session, kind: str, document_ids: Sequence[int],
                    connection: str) -> dict[int, Any]:
    """The push records of these documents of ``kind`` for ``connection``; a document that
    cannot be pushed maps to the :class:`~hub.errors.HubError` saying why."""
    if kind == "invoice":
        return build_invoice_docs(session, document_ids, connection)
    builders = {"credit_note": build_credit_note_doc, "payment": build_payment_doc}
    if kind not in builders:
        error = PermanentError(f"cannot push documents of kind {kind!r}",
                               hint=f"use one of {sorted(PUSH_HOOKS)}")
        return {document_id: error for document_id in document_ids}
    result: dict[int, Any] = {}
    for document_id in document_ids:
        try:
            result[document_id] = builders[kind](session, document_id, connection)
        except HubError as exc:
            result[document_id] = exc
    return result


def _model_of(kind: str) -> type:
    if kind == "invoice":
        return Invoice
    from hub.db.models.ledger import CreditNote, Payment

    return {"credit_note": CreditNote, "payment": Payment}[kind]


def lock_documents(session: Session, kind: str, document_ids: Sequence[int], connection: str,
                   when: dt.datetime) -> None:
    """Mark the documents synced to ``connection`` and locked (the first lock wins)."""
    model = _model_of(kind)
    session.execute(update(model).where(model.id.in_(list(document_ids)),
                                        model.locked_at.is_(None))
                    .values(locked_at=when, locked_by=connection))
