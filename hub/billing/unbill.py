"""Undoing the billing bookkeeping of an invoice that is deleted completely.

The ledger deletes invoices (``hub.ledger.delete_completely``, Splynx's "Cancel last recurring
invoice"); this module puts back what *billing* recorded about it, so the schedule bills that
period again at the next run and nothing points at the vanished row:

- the recurring invoice is rewound to the deleted invoice's period, if that was its last one;
- a contract cycle points back at the invoice the deleted one replaced (or at none, so the cycle
  is un-invoiced and preselected again);
- an invoice that named it as the one it replaced forgets it.

Future items are the ledger's to release (they stay future items: seed 002).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlmodel import Session, select

from hub.db.models import BillingCycle, Invoice, RecurringInvoice

__all__ = ["release_invoice"]


def release_invoice(session: Session, invoice: Invoice) -> None:
    """Call before deleting ``invoice`` completely (same transaction)."""
    extra = invoice.extra_fields or {}
    schedule_id = extra.get("recurring_id")
    if schedule_id is not None and invoice.period_end is not None:
        schedule = session.get(RecurringInvoice, schedule_id)
        # Only the schedule's latest invoice can be given back: an older one would leave a gap.
        if schedule is not None and \
                schedule.covered_from == invoice.period_end + dt.timedelta(days=1):
            schedule.covered_from = invoice.period_start
            schedule.next_run_date = invoice.issue_date
    for cycle in session.exec(select(BillingCycle).where(BillingCycle.invoice_id == invoice.id)):
        cycle.invoice_id = invoice.replaces_invoice_id
    it = Invoice.__table__
    session.execute(update(it).where(it.c.replaces_invoice_id == invoice.id)
                    .values(replaces_invoice_id=invoice.replaces_invoice_id))
    session.flush()
