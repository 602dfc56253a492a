"""An invoice's status from its figures (seed 002's status table).

- **deleted**: marked as deleted; never returns to unpaid (only "delete completely" remains);
- **paid**: nothing is due; **paid from balance** when it was paid in full from the customer's
  balance alone;
- **overdue**: something is due and the payment due date has passed ("the Partially paid status
  does not apply to the Overdue invoice"), even while a payment is processing;
- **pending**: not yet past due, a payment is being processed;
- **partially paid**: some payment or credit is applied, the rest is due;
- **unpaid**: nothing paid yet.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from hub.errors import DocumentDeleted

__all__ = ["InvoiceStatus", "Status", "invoice_status", "amount_due", "check_not_deleted"]


class InvoiceStatus(StrEnum):
    """An invoice's status: seed 002's statuses, plus draft for invoices still in a preview
    batch. Stored as ``Invoice.status`` (``hub.db.models.invoices.InvoiceStatus`` is this)."""

    draft = "draft"
    unpaid = "unpaid"
    pending = "pending"
    partially_paid = "partially_paid"
    paid = "paid"
    paid_from_balance = "paid_from_balance"
    overdue = "overdue"
    deleted = "deleted"


#: Short name used throughout the ledger core.
Status = InvoiceStatus


def amount_due(total: Decimal, paid: Decimal, credit: Decimal) -> Decimal:
    """Total minus allocated payments and applied credit; never below zero."""
    return max(total - paid - credit, Decimal(0))


def invoice_status(*, total: Decimal, paid: Decimal, credit: Decimal, due_date: dt.date,
                   today: dt.date, pending: bool = False, deleted: bool = False,
                   draft: bool = False, from_balance: Decimal = Decimal(0)) -> Status:
    """The status an invoice has on ``today``.

    ``paid`` is what payments cover, ``credit`` what credit notes and account credit cover, of
    which ``from_balance`` came from the customer's balance.
    """
    if deleted:
        return Status.deleted
    if draft:
        return Status.draft
    due = amount_due(total, paid, credit)
    if due == 0:
        if total > 0 and from_balance >= total:
            return Status.paid_from_balance
        return Status.paid
    if today > due_date:
        return Status.overdue
    if pending:
        return Status.pending
    if paid + credit > 0:
        return Status.partially_paid
    return Status.unpaid


def check_not_deleted(status: str, what: str) -> None:
    """Refuse any change to a deleted document."""
    if status == Status.deleted:
        raise DocumentDeleted(
            f"{what} is deleted; a deleted invoice never returns to unpaid",
            hint="only 'delete completely' can still be applied; make a new invoice instead")
