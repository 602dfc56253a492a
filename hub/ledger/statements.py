"""Statements of a customer's finance documents or transactions for a period."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlmodel import Session, select

from hub.core.ledger.statements import (
    DocumentRow, Statement, TransactionRow, documents_statement, transactions_statement,
)
from hub.db.models.invoices import Invoice, InvoiceKind, InvoiceStatus
from hub.db.models.ledger import CreditNote, Payment, PaymentStatus, Transaction
from hub.errors import ValidationFailed
from hub.ledger._base import get_organisation, money
from hub.ledger.accounts import links_of_credit_note, links_of_invoice, links_of_payment

__all__ = ["statement"]


def _invoice_links(session: Session, invoice_id: int) -> tuple[str, ...]:
    found = links_of_invoice(session, invoice_id)
    return tuple([f"payment {p['id']}" for p in found["payments"]]
                 + [f"credit note {n['number']}" for n in found["credit_notes"]])


def _payment_links(session: Session, payment: Payment) -> tuple[str, ...]:
    if payment.refund_of_id is not None:
        return (f"refund of payment {payment.refund_of_id}",)
    found = links_of_payment(session, payment.id)
    return tuple([f"invoice {i['number'] or i['id']}" for i in found["invoices"]]
                 + [f"refund {r['id']}" for r in found["refunds"]])


def _credit_note_links(session: Session, note: CreditNote) -> tuple[str, ...]:
    found = links_of_credit_note(session, note.id)
    numbers = [found["against_invoice_number"]] if found["against_invoice"] else []
    numbers += [i["number"] for i in found["invoices"] if i["number"] not in numbers]
    return tuple(f"invoice {n}" for n in numbers)


def _document_rows(session: Session, organisation_id: int, currency: str) -> list[DocumentRow]:
    """Every finance document with its links to the others (seed 002: "we can trace all
    connections between financial documents of the customer")."""
    rows = []
    for inv in session.exec(select(Invoice).where(Invoice.organisation_id == organisation_id)):
        if inv.status == InvoiceStatus.draft or inv.kind == InvoiceKind.proforma:
            continue
        rows.append(DocumentRow("invoice", inv.id, inv.number or str(inv.id), inv.issue_date,
                                money(inv.total, currency), inv.status,
                                money(inv.amount_paid + inv.credit_applied, currency),
                                money(inv.amount_due, currency),
                                links=_invoice_links(session, inv.id)))
    for p in session.exec(select(Payment).where(Payment.organisation_id == organisation_id,
                                                Payment.status == PaymentStatus.succeeded)):
        rows.append(DocumentRow("payment", p.id, ("refund " if p.amount < 0 else "") + str(p.id),
                                p.date, money(p.amount, currency), str(p.method),
                                links=_payment_links(session, p)))
    for n in session.exec(select(CreditNote).where(CreditNote.organisation_id == organisation_id)):
        rows.append(DocumentRow("credit_note", n.id, n.number, n.date, money(n.total, currency),
                                links=_credit_note_links(session, n)))
    return rows


def statement(session: Session, organisation_id: int, start: dt.date, end: dt.date,
              mode: Literal["documents", "transactions"] = "documents") -> Statement:
    """The statement for ``start``..``end``: finance documents with the Total invoiced figures,
    or transactions with the opening, running and closing balance."""
    org = get_organisation(session, organisation_id)
    if mode == "documents":
        return documents_statement(_document_rows(session, org.id, org.currency), start, end,
                                   org.currency)
    if mode == "transactions":
        txs = session.exec(select(Transaction).where(Transaction.organisation_id == org.id))
        rows = [TransactionRow(t.id, t.date, t.side.value, money(t.amount, org.currency),
                               t.description) for t in txs]
        return transactions_statement(rows, start, end, org.currency)
    raise ValidationFailed(f"statement mode {mode!r} is unknown",
                           hint="use 'documents' or 'transactions'")
