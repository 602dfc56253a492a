"""Editing a final invoice within the rules of its status (seed 002) and its lock.

The changes are typed by :class:`~hub.validation.records.InvoiceChanges` (the CLI and the API
alike), and every check runs before anything changes, so a refused edit leaves the stored
invoice exactly as it was. Changing the items of an unpaid invoice re-prices it and moves its
auto debit transaction to the new total. Values equal to the stored ones are no change: an edit
made only of them writes nothing, not even an audit event (:mod:`hub.validation.changes`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from sqlmodel import Session, select

from hub import audit
from hub.core.ledger.edits import check_edit
from hub.core.lines import Totals, price_line, totals
from hub.core.money import Money
from hub.db.models.catalogue import TicketCharge
from hub.db.models.invoices import Invoice, InvoiceLine
from hub.errors import ValidationFailed
from hub.ledger._base import get_invoice, lock_account, refresh_invoice
from hub.ledger.posting import auto_transactions
from hub.validation import parse
from hub.validation.changes import note_edit
from hub.validation.fields import (
    check_line_amount, check_not_far_ahead, check_not_far_back, check_total_amount,
)
from hub.validation.records import InvoiceChanges, InvoiceLineInput

__all__ = ["edit_invoice"]


def _price_lines(invoice: Invoice, lines: list[InvoiceLineInput]) -> tuple[list, Totals]:
    """Each line priced in the invoice's currency, and their totals; refused when a line or
    the totals would not fit the money columns, or the invoice would be negative."""
    priced = []
    for i, line in enumerate(lines):
        try:  # the model checked with cents; the invoice's own currency may round otherwise
            check_line_amount(line.quantity, line.unit_price, line.tax_rate, invoice.currency)
        except ValueError as exc:
            raise ValidationFailed(f"lines.{i}: {exc}") from None
        priced.append((line, price_line(Money(line.unit_price, invoice.currency),
                                        line.quantity, line.tax_rate)))
    sums = totals(((p.amount, p.tax) for _, p in priced), invoice.currency)
    try:
        for amount in (sums.subtotal.amount, sums.tax.amount, sums.total.amount):
            check_total_amount(amount, invoice.currency)
    except ValueError as exc:
        raise ValidationFailed(f"lines: {exc}") from None
    if sums.total.is_negative:
        raise ValidationFailed(f"lines: the items would total {sums.total.amount}, below zero",
                               hint="an invoice cannot be negative; make the discount smaller")
    return priced, sums


def _new_lines(invoice: Invoice, priced: list) -> list[InvoiceLine]:
    """The rows that replace the invoice's items, not yet added to the session."""
    return [InvoiceLine(invoice_id=invoice.id, position=position, description=line.description,
                        quantity=p.quantity, unit_price=p.unit_price.amount,
                        amount=p.amount.amount, tax_rate=p.tax_rate, tax_amount=p.tax.amount)
            for position, (line, p) in enumerate(priced)]


def _real_changes(invoice: Invoice, changes: Mapping[str, Any], old_lines: list[InvoiceLine],
                  new_lines: list[InvoiceLine] | None) -> dict[str, Any]:
    """The ``changes`` that would change what is stored: ``extra_fields`` are merged into the
    stored ones, and ``lines`` change nothing when the new rows equal the stored ones (all
    their columns, so a counted or pro-rata line is never taken for a typed one)."""
    def row(line: InvoiceLine) -> dict[str, Any]:
        return line.model_dump(exclude={"id"})

    real = {}
    for name, value in changes.items():
        if name == "lines":
            same = new_lines is not None and [row(l) for l in new_lines] == [
                row(l) for l in sorted(old_lines, key=lambda l: l.position)]
        elif name == "extra_fields":
            stored = invoice.extra_fields or {}
            same = {**stored, **value} == stored
        else:
            same = getattr(invoice, name) == value
        if not same:
            real[name] = value
    return real


def edit_invoice(session: Session, invoice_id: int, changes: Mapping[str, Any], *,
                 today: dt.date) -> Invoice:
    """Apply ``changes`` (field -> value, as :class:`InvoiceChanges` types them; ``lines`` is a
    list of {description, quantity, unit_price, tax_rate}) if the invoice's status and lock
    allow all of them. No change at all is refused ("nothing to change", a 422 in the API) as
    ``hub ledger edit`` without options is, so the audit trail never records an empty edit;
    values that all equal the stored ones write nothing and the session notes that nothing
    changed (:func:`hub.validation.changes.nothing_changed`)."""
    given = parse(InvoiceChanges, dict(changes), what=f"invoice {invoice_id}")
    changes = given.given()
    if not changes:
        raise ValidationFailed(f"invoice {invoice_id}: nothing to change", hint="give at "
                               f"least one of {', '.join(InvoiceChanges.model_fields)}")
    invoice = get_invoice(session, invoice_id)
    lock_account(session, invoice.organisation_id)
    check_edit(number=invoice.number, status=invoice.status, total=invoice.total,
               paid=invoice.amount_paid, credit=invoice.credit_applied,
               locked_by=(invoice.locked_by or "accounting") if invoice.locked_at else None,
               changes=changes, existing_extra_keys=(invoice.extra_fields or {}).keys())
    new_issue = changes.get("issue_date", invoice.issue_date)
    if "issue_date" in changes:
        check_not_far_ahead(new_issue, today, "invoice date")
        check_not_far_back(new_issue, today, "invoice date")
    if changes.get("due_date", invoice.due_date) < new_issue:
        raise ValidationFailed("the payment due date cannot be before the document date")
    if "due_date" in changes:  # a term of at most a year from the (new) document date
        check_not_far_ahead(changes["due_date"], new_issue, "due date", "the invoice date")
    start = changes.get("period_start", invoice.period_start)
    end = changes.get("period_end", invoice.period_end)
    if start is not None and end is not None and end < start:
        raise ValidationFailed(f"the period would end ({end}) before it starts ({start})",
                               hint="give period_start and period_end in order")
    if "number" in changes and changes["number"] != invoice.number:
        taken = session.exec(select(Invoice.id).where(Invoice.number == changes["number"])).first()
        if taken is not None:
            raise ValidationFailed(f"invoice number {changes['number']!r} is taken",
                                   hint="choose another number")
    priced = sums = new_lines = None
    old_lines: list[InvoiceLine] = []
    if given.lines is not None:
        priced, sums = _price_lines(invoice, given.lines)
        new_lines = _new_lines(invoice, priced)
        old_lines = session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
        ids = [l.id for l in old_lines]
        if ids and session.exec(select(TicketCharge.id).where(
                TicketCharge.invoice_line_id.in_(ids))).first() is not None:
            raise ValidationFailed(f"invoice {invoice.number} was made from ticket charges; its "
                                   "items cannot be replaced",
                                   hint="delete it completely and invoice the charges again")
    changes = _real_changes(invoice, changes, old_lines, new_lines)
    note_edit(session, bool(changes))
    if not changes:
        return invoice
    # Everything is validated: apply.
    for name, value in changes.items():
        if name == "lines":
            continue
        if name == "extra_fields":
            value = {**(invoice.extra_fields or {}), **value}
        setattr(invoice, name, value)
    if "lines" in changes:
        for line in old_lines:
            session.delete(line)
        session.flush()
        session.add_all(new_lines)
        invoice.subtotal, invoice.tax_total, invoice.total = (
            sums.subtotal.amount, sums.tax.amount, sums.total.amount)
        for tx in auto_transactions(session, invoice.id):
            tx.amount = invoice.total
            session.add(tx)
    session.add(invoice)
    session.flush()
    refresh_invoice(session, invoice, today)
    audit.record(session, "invoice.edited", "invoice", invoice.id,
                 summary=f"invoice {invoice.number}: {', '.join(sorted(changes))} changed",
                 detail={k: v for k, v in changes.items() if k != "lines"})
    return invoice
