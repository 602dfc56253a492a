"""Editing a final invoice within the rules of its status (seed 002) and its lock.

The checks run before anything changes, so a refused edit leaves the stored invoice exactly as
it was. Changing the items of an unpaid invoice re-prices it and moves its auto debit
transaction to the new total.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from sqlmodel import Session, select

from hub import audit
from hub.core.ledger.edits import check_edit
from hub.core.lines import price_line, totals
from hub.core.money import Money, to_decimal
from hub.db.models.catalogue import TicketCharge
from hub.db.models.invoices import Invoice, InvoiceLine
from hub.errors import ValidationFailed
from hub.ledger._base import get_invoice, lock_account, refresh_invoice
from hub.ledger.posting import auto_transactions

__all__ = ["edit_invoice"]

_DATES = ("issue_date", "due_date", "period_start", "period_end")


def _coerce(changes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(changes)
    for name in _DATES:
        if isinstance(out.get(name), str):
            try:
                out[name] = dt.date.fromisoformat(out[name])
            except ValueError:
                raise ValidationFailed(f"{name} {out[name]!r} is not a date",
                                       hint="write dates as YYYY-MM-DD") from None
    if "extra_fields" in out and not isinstance(out["extra_fields"], Mapping):
        raise ValidationFailed("extra_fields must be a mapping of name to value")
    return out


def _price_lines(invoice: Invoice, lines: list[Mapping[str, Any]]):
    if not lines:
        raise ValidationFailed("an invoice needs at least one line")
    priced = []
    for i, line in enumerate(lines):
        if not line.get("description"):
            raise ValidationFailed(f"line {i + 1} has no description")
        priced.append((line, price_line(Money(to_decimal(str(line["unit_price"])), invoice.currency),
                                        str(line.get("quantity", "1")),
                                        str(line.get("tax_rate", "0")))))
    return priced


def edit_invoice(session: Session, invoice_id: int, changes: Mapping[str, Any], *,
                 today: dt.date) -> Invoice:
    """Apply ``changes`` (field -> value; ``lines`` is a list of {description, quantity,
    unit_price, tax_rate}) if the invoice's status and lock allow all of them."""
    invoice = get_invoice(session, invoice_id)
    lock_account(session, invoice.organisation_id)
    changes = _coerce(changes)
    check_edit(number=invoice.number, status=invoice.status, total=invoice.total,
               paid=invoice.amount_paid, credit=invoice.credit_applied,
               locked_by=(invoice.locked_by or "accounting") if invoice.locked_at else None,
               changes=changes, existing_extra_keys=(invoice.extra_fields or {}).keys())
    new_issue = changes.get("issue_date", invoice.issue_date)
    if changes.get("due_date", invoice.due_date) < new_issue:
        raise ValidationFailed("the payment due date cannot be before the document date")
    if "number" in changes and changes["number"] != invoice.number:
        taken = session.exec(select(Invoice.id).where(Invoice.number == changes["number"])).first()
        if taken is not None or not changes["number"]:
            raise ValidationFailed(f"invoice number {changes['number']!r} is empty or taken")
    priced = None
    old_lines: list[InvoiceLine] = []
    if "lines" in changes:
        priced = _price_lines(invoice, list(changes["lines"]))
        old_lines = session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
        ids = [l.id for l in old_lines]
        if ids and session.exec(select(TicketCharge.id).where(
                TicketCharge.invoice_line_id.in_(ids))).first() is not None:
            raise ValidationFailed(f"invoice {invoice.number} was made from ticket charges; its "
                                   "items cannot be replaced",
                                   hint="delete it completely and invoice the charges again")
    # Everything is validated: apply.
    for name, value in changes.items():
        if name == "lines":
            continue
        if name == "extra_fields":
            value = {**(invoice.extra_fields or {}), **value}
        setattr(invoice, name, value)
    if priced is not None:
        for line in old_lines:
            session.delete(line)
        session.flush()
        for position, (raw, p) in enumerate(priced):
            session.add(InvoiceLine(invoice_id=invoice.id, position=position,
                                    description=raw["description"], quantity=p.quantity,
                                    unit_price=p.unit_price.amount, amount=p.amount.amount,
                                    tax_rate=p.tax_rate, tax_amount=p.tax.amount))
        sums = totals(((p.amount, p.tax) for _, p in priced), invoice.currency)
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
