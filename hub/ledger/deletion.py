"""Deleting invoices, by seed 002's rules.

- **One rule for both deletions**: only an invoice with nothing applied to it (no payment, no
  credit note, no account credit) can be deleted, marked or completely. Seed 002 offers deletion
  for the *Unpaid* invoice and says the way to correct any other is a credit note ("it is not
  recommended to completely delete any invoice ... create a Credit note to keep a complete
  context of the billing flow"); deleting a paid invoice would silently turn its payment into
  unallocated credit. To delete a paid invoice anyway, refund or move its payment first.
- **Mark as deleted**: the invoice stays, with status Deleted; its auto
  (+Debit) transactions are removed; manual transactions stay; the future items it took stay as
  future items (only a person removes them). A deleted invoice never returns to unpaid; only
  "delete completely" can still be applied to it.
- **Delete completely**: the invoice and its lines go; auto transactions go; manual
  transactions, payments made for it (with nothing allocated) and future items stay.
- **Cancel last recurring invoice**: delete completely the customer's latest recurring invoice;
  if it took future items as well as the service charge, say so (they stay, as future items).
- An invoice synced to accounting (locked) is never deleted: credit it instead.
- **Drafts**: a draft inside a preview batch goes with its batch (discard the batch). A draft
  outside any batch (a one-time or proforma invoice being built) was never numbered, posted or
  pushed, so there is nothing to keep marked as deleted: either deletion removes it, and what it
  reserved (ticket charges, future items) is released, as discarding a batch releases it. A
  proforma an invoice was converted from stays: the invoice names it.
- **Pre-bills** (seed 003): a pre-bill is its invoice plus the WIP attached to it later.
  Deleting the invoice of a pre-bill with no WIP attached and not closed removes the pre-bill
  too, so the stage is free to be pre-billed again and its WIP waits for that; once WIP is
  attached or the pre-bill is closed, the invoice is revenue that WIP was billed against, and
  it is corrected with a credit note (which reduces the pre-bill's balance), never deleted.
  An invoice voided in accounting takes its pre-bill with it in every case, attached WIP
  detached again: the void has already happened there and cannot be refused here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session, select

from hub import audit
from hub.db.models.catalogue import LaborStatus, TicketCharge
from hub.db.models.future_items import FutureItem
from hub.db.models.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from hub.db.models.ledger import Allocation, CreditNote, Payment, PreBill, Transaction, WipEntry
from hub.db.models.sync import Effect, OutboxEntry, OutboxStatus
from hub.contract.records import PaymentEvent
from hub.core.money import shown
from hub.errors import DocumentLocked, DocumentRefused, EditNotAllowed, NotFound, ValidationFailed
from hub.ledger._base import get_invoice, lock_account
from hub.ledger.posting import auto_transactions

__all__ = ["DeletionResult", "mark_deleted", "delete_completely", "cancel_last_recurring_invoice",
           "check_deletable"]


@dataclass
class DeletionResult:
    """What a deletion did and what it left for a person to handle."""

    invoice_id: int
    number: str | None
    removed_transactions: list[int] = field(default_factory=list)
    released_future_items: list[int] = field(default_factory=list)
    kept_manual_transactions: list[int] = field(default_factory=list)
    released_allocations: int = 0
    released_prebill: int | None = None
    warnings: list[str] = field(default_factory=list)


def check_nothing_applied(invoice: Invoice, action: str) -> None:
    """Refuse deleting an invoice that payments or credit were applied to (one rule for mark
    as deleted and delete completely, see the module docstring)."""
    if invoice.amount_paid + invoice.credit_applied > 0:
        status = invoice.status.replace("_", " ") if invoice.status else "paid"
        raise EditNotAllowed(
            f"invoice {invoice.number} is {status} ({shown(invoice.amount_paid, invoice.currency)}"
            f" paid, {shown(invoice.credit_applied, invoice.currency)} credited): only an invoice"
            f" with nothing applied to it can be {action}",
            hint=f"create a credit note for invoice {invoice.number} instead (`hub credit-note "
                 f"create --invoice {invoice.number} --whole`), or refund its payments first")


def check_deletable(session: Session, invoice: Invoice) -> None:
    """Refuse deleting a locked invoice or one being pushed to accounting right now."""
    if invoice.locked_at is not None:
        raise DocumentLocked(
            f"invoice {invoice.number} is synced to accounting ({invoice.locked_by}) and locked; "
            "it cannot be deleted",
            hint=f"create a credit note for it instead: `hub credit-note create --invoice "
                 f"{invoice.number} --whole`")
    in_flight = session.exec(select(OutboxEntry.id).where(
        OutboxEntry.document_kind == "invoice", OutboxEntry.document_id == invoice.id,
        OutboxEntry.status == OutboxStatus.dispatched)).first()
    if in_flight is not None:
        raise DocumentRefused(f"invoice {invoice.number} is being pushed to accounting right now",
                              hint="wait for the push to finish, then create a credit note")


def _refuse_draft_in_batch(invoice: Invoice) -> None:
    """A draft of a preview batch is deleted by discarding its batch (which releases what the
    whole batch reserved, in run-date order), never on its own."""
    if invoice.status == InvoiceStatus.draft and invoice.batch_id is not None:
        raise ValidationFailed(
            f"invoice {invoice.id} is a draft in preview batch {invoice.batch_id}",
            hint=f"discard the preview batch instead: `hub bill discard {invoice.batch_id}`")


def _refuse_converted_proforma(session: Session, invoice: Invoice) -> None:
    """The invoice made from a proforma names it (``converted_from_id``): the proforma stays."""
    made = session.exec(select(Invoice).where(Invoice.converted_from_id == invoice.id)).first()
    if made is not None:
        made_name = made.number or f"draft {made.id}"
        raise EditNotAllowed(
            f"proforma {invoice.id} was converted to invoice {made_name}, which names it as "
            "the proforma it was made from; it cannot be deleted",
            hint=f"keep the proforma; to undo the conversion, delete invoice {made_name} "
                 f"completely first (`hub ledger delete id:{made.id} --completely`)")


def _deletable_prebill(session: Session, invoice: Invoice, action: str) -> PreBill | None:
    """The pre-bill ``invoice`` made, if any, once it is clear it can go with its invoice (see
    the module docstring); refuses when WIP was attached to it or it was closed."""
    prebill = session.exec(select(PreBill).where(PreBill.invoice_id == invoice.id)).first()
    if prebill is None:
        return None
    attached = session.exec(select(WipEntry.id).where(WipEntry.prebill_id == prebill.id)).first()
    if attached is not None or prebill.closed_at is not None:
        why = "has WIP attached" if attached is not None else "is closed"
        raise EditNotAllowed(
            f"invoice {invoice.number} is the invoice of pre-bill {prebill.id} (stage "
            f"{prebill.stage!r} of project {prebill.project!r}), which {why}: it cannot be "
            f"{action}",
            hint=f"correct it with a credit note instead (`hub credit-note create --invoice "
                 f"{invoice.number} --whole`), which also reduces the pre-bill's balance")
    return prebill


def _release_prebill(session: Session, prebill: PreBill, result: DeletionResult,
                     **detail: object) -> None:
    """Remove the pre-bill with its invoice: nothing was attached to it, and a pre-bill without
    its invoice's revenue would offer a balance nobody was billed for. ``detail`` joins the
    audit event's."""
    result.released_prebill = prebill.id
    result.warnings.append(
        f"pre-bill {prebill.id} (stage {prebill.stage!r} of project {prebill.project!r}) was "
        "removed with its invoice; the stage can be pre-billed again (`hub prebill create`)")
    # recorded against the invoice: SQLite may hand a deleted pre-bill's id to the next one
    # (the pre-bill table has no AUTOINCREMENT), the invoice's id is never reused
    audit.record(session, "prebill.removed", "invoice", result.invoice_id,
                 summary=f"pre-bill {prebill.id} (stage {prebill.stage!r} of project "
                         f"{prebill.project!r}) removed with invoice {result.number}",
                 detail={"prebill_id": prebill.id, "project": prebill.project,
                         "stage": prebill.stage, "amount": str(prebill.amount), **detail})
    session.delete(prebill)
    session.flush()  # before the invoice row goes: the pre-bill refers to it


def _forget_pending_pushes(session: Session, invoice_id: int) -> None:
    for row in session.exec(select(OutboxEntry).where(
            OutboxEntry.document_kind == "invoice", OutboxEntry.document_id == invoice_id,
            OutboxEntry.status == OutboxStatus.pending, OutboxEntry.effect != Effect.void)):
        session.delete(row)


def _release_future_items(session: Session, invoice_id: int) -> list[int]:
    released = []
    for item in session.exec(select(FutureItem).where(FutureItem.invoice_id == invoice_id)):
        remainders = session.exec(select(FutureItem).where(FutureItem.remainder_of_id == item.id)).all()
        for rest in remainders:
            if rest.invoice_id is None and not rest.used:
                session.delete(rest)  # the whole item is waiting again: no separate remainder
            elif item.taken_amount is not None:
                item.amount = item.taken_amount  # the rest already went into another invoice
        item.invoice_id, item.used, item.taken_amount = None, False, None
        session.add(item)
        released.append(item.id)
    return released


def _remove_from_ledger(session: Session, invoice: Invoice, result: DeletionResult) -> None:
    for tx in auto_transactions(session, invoice.id):
        result.removed_transactions.append(tx.id)
        session.delete(tx)
    result.kept_manual_transactions = [t.id for t in session.exec(select(Transaction).where(
        Transaction.invoice_id == invoice.id, Transaction.category == "manual"))]
    result.released_future_items = _release_future_items(session, invoice.id)
    _forget_pending_pushes(session, invoice.id)
    if result.released_future_items:
        result.warnings.append(
            f"invoice {invoice.number or f'draft {invoice.id}'} included future items "
            f"{result.released_future_items}: "
            "they stay on the account as future items and can only be removed manually")
    if result.kept_manual_transactions:
        result.warnings.append(
            f"manual transactions {result.kept_manual_transactions} stay on the account; "
            "remove them manually if they are wrong")


def mark_deleted(session: Session, invoice_id: int, *, when: dt.datetime) -> DeletionResult:
    """Mark an unpaid invoice as deleted (see module docstring)."""
    invoice = get_invoice(session, invoice_id)
    lock_account(session, invoice.organisation_id)
    if invoice.status == InvoiceStatus.deleted:
        raise EditNotAllowed(f"invoice {invoice.number} is already marked as deleted",
                             hint="it cannot return to unpaid; only 'delete completely' remains")
    check_deletable(session, invoice)
    _refuse_draft_in_batch(invoice)
    if invoice.status == InvoiceStatus.draft:
        # never numbered, posted or pushed: nothing to keep marked as deleted (module docstring)
        result = _delete_rows(session, invoice)
        result.warnings.append(f"invoice {invoice.id} was a draft, never final: it was removed, "
                               "not marked as deleted")
        return result
    check_nothing_applied(invoice, "marked as deleted")
    prebill = _deletable_prebill(session, invoice, "marked as deleted")
    result = DeletionResult(invoice.id, invoice.number)
    _remove_from_ledger(session, invoice, result)
    if prebill is not None:
        _release_prebill(session, prebill, result)
    invoice.status = InvoiceStatus.deleted
    invoice.deleted_at = when
    session.add(invoice)
    session.flush()
    audit.record(session, "invoice.deleted", "invoice", invoice.id,
                 summary=f"invoice {invoice.number} marked as deleted")
    return result


def apply_external_void(session: Session, connection: str, event: PaymentEvent) -> DeletionResult | None:
    """The accounting system the invoice is synced to voided it there (e.g. in Xero).

    The hub follows: the invoice becomes deleted and its automatic debit leaves the ledger, as
    with "mark as deleted". This is the one way a locked invoice changes, because the change
    comes from the very system that holds the lock. Idempotent; an invoice with payments or
    credit is left alone (accounting systems refuse to void those) and the event changes
    nothing. A pre-bill of the invoice goes with it (:func:`_release_voided_prebill`); the void
    is an audit event. Returns what was removed, or None when nothing changed.
    """
    if event.invoice_id is None:
        return None
    invoice = get_invoice(session, event.invoice_id)
    lock_account(session, invoice.organisation_id)
    if invoice.status in (InvoiceStatus.deleted, InvoiceStatus.draft):
        return None
    if invoice.amount_paid + invoice.credit_applied > 0:
        _void_not_followed(session, invoice, connection, event)
        return None
    result = DeletionResult(invoice.id, invoice.number)
    _remove_from_ledger(session, invoice, result)
    _release_voided_prebill(session, invoice, result, connection)
    invoice.status = InvoiceStatus.deleted
    invoice.deleted_at = event.occurred_at
    invoice.extra_fields = {**(invoice.extra_fields or {}),
                            "voided_in": {"connection": connection, "external_id": event.object_id}}
    session.add(invoice)
    session.flush()
    audit.record(session, "invoice.voided", "invoice", invoice.id,
                 summary=f"invoice {invoice.number} voided in {connection}: marked as deleted",
                 detail={"connection": connection, "external_id": event.object_id,
                         "released_prebill": result.released_prebill,
                         "warnings": result.warnings})
    return result


def _void_not_followed(session: Session, invoice: Invoice, connection: str,
                       event: PaymentEvent) -> None:
    """A void of an invoice the hub holds payments or credit on is not followed (the money
    would lose its invoice), but it is not silent either: the audit trail says so, once per
    void, and the reconciliation shows the two sides' statuses apart until someone decides."""
    from hub.db.models import AuditEvent

    already = session.exec(select(AuditEvent.id).where(
        AuditEvent.action == "invoice.void_not_followed",
        AuditEvent.target_type == "invoice", AuditEvent.target_id == str(invoice.id))).first()
    if already is not None:
        return
    held = shown(invoice.amount_paid + invoice.credit_applied, invoice.currency)
    audit.record(session, "invoice.void_not_followed", "invoice", invoice.id,
                 summary=f"invoice {invoice.number} was voided in {connection}, but the hub "
                         f"holds {held} of payments or credit on it: not voided here",
                 detail={"connection": connection, "external_id": event.object_id,
                         "held": str(invoice.amount_paid + invoice.credit_applied),
                         "hint": "unallocate or refund the money and void it again, or "
                                 f"reinstate the invoice in {connection}"})


def _release_voided_prebill(session: Session, invoice: Invoice, result: DeletionResult,
                            connection: str) -> None:
    """The pre-bill of an invoice voided in accounting goes with it, as with a deletion by
    hand; WIP attached to it is detached and waits for the stage's next pre-bill."""
    prebill = session.exec(select(PreBill).where(PreBill.invoice_id == invoice.id)).first()
    if prebill is None:
        return
    # Unlike a deletion by hand, a void cannot be refused when WIP is attached or the pre-bill
    # is closed: it already happened in the system that holds the invoice's lock. Kept, the
    # pre-bill would point at a deleted invoice and still offer revenue nobody is billed for;
    # so it goes, and WIP billed against that revenue is unbilled again (the audit event keeps
    # what it was attached as).
    detached = []
    for wip in session.exec(select(WipEntry).where(WipEntry.prebill_id == prebill.id)):
        detached.append({"wip_id": wip.id, "billed_value": str(wip.billed_value),
                         "use": wip.attached_use})
        wip.prebill_id, wip.billed_value, wip.attached_use, wip.attached_at = (None,) * 4
        session.add(wip)
    session.flush()
    if detached:
        result.warnings.append(
            f"WIP {[d['wip_id'] for d in detached]} was attached to pre-bill {prebill.id}; it "
            "waits again for the stage's next pre-bill")
    _release_prebill(session, prebill, result, voided_in=connection,
                     closed_at=prebill.closed_at, detached_wip=detached)


def delete_completely(session: Session, invoice_id: int, *, today: dt.date) -> DeletionResult:
    """Delete an invoice and its lines for good (see module docstring)."""
    invoice = get_invoice(session, invoice_id)
    lock_account(session, invoice.organisation_id)
    check_deletable(session, invoice)
    _refuse_draft_in_batch(invoice)
    credited = session.exec(select(CreditNote.number).where(CreditNote.invoice_id == invoice.id)).all()
    if credited:
        raise DocumentRefused(
            f"invoice {invoice.number} has credit notes {', '.join(credited)}; deleting it would "
            "break their link", hint="keep the invoice; its credit notes already correct it")
    check_nothing_applied(invoice, "deleted completely")
    return _delete_rows(session, invoice)


def _delete_rows(session: Session, invoice: Invoice) -> DeletionResult:
    """Delete ``invoice`` and its lines for good, releasing what it reserved or recorded;
    the caller has checked that it may go."""
    _refuse_converted_proforma(session, invoice)
    prebill = _deletable_prebill(session, invoice, "deleted completely")
    invoice_id = invoice.id
    result = DeletionResult(invoice.id, invoice.number)
    if prebill is not None:
        _release_prebill(session, prebill, result)
    for alloc in session.exec(select(Allocation).where(Allocation.invoice_id == invoice.id)):
        result.released_allocations += 1
        session.delete(alloc)  # the money stays on the account as credit
    _remove_from_ledger(session, invoice, result)
    for tx in session.exec(select(Transaction).where(Transaction.invoice_id == invoice.id)):
        tx.invoice_id = None  # manual transactions and payments outlive the invoice
        session.add(tx)
    for payment in session.exec(select(Payment).where(Payment.invoice_id == invoice.id)):
        payment.invoice_id = None
        session.add(payment)
    # Put back what billing recorded (schedule period, contract cycle) so the period is billed
    # again at the next run and nothing points at the deleted row.
    from hub.billing.unbill import release_invoice

    release_invoice(session, invoice)
    lines = session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
    line_ids = [l.id for l in lines]
    if line_ids:
        for charge in session.exec(select(TicketCharge).where(
                TicketCharge.invoice_line_id.in_(line_ids))):
            charge.invoice_line_id, charge.labor_status = None, LaborStatus.charged
            session.add(charge)
    session.flush()
    for line in lines:
        session.delete(line)
    session.flush()
    session.delete(invoice)
    session.flush()
    audit.record(session, "invoice.deleted_completely", "invoice", invoice_id,
                 summary=f"invoice {result.number or f'draft {invoice_id}'} deleted completely")
    return result


def cancel_last_recurring_invoice(session: Session, organisation_id: int, *,
                                  today: dt.date) -> DeletionResult:
    """Delete completely the organisation's most recent recurring invoice."""
    last = session.exec(select(Invoice).where(
        Invoice.organisation_id == organisation_id, Invoice.kind == InvoiceKind.recurring,
        Invoice.status != InvoiceStatus.draft)
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc())).first()
    if last is None:
        raise NotFound(f"organisation {organisation_id} has no recurring invoice to cancel")
    result = delete_completely(session, last.id, today=today)
    if result.released_future_items:
        result.warnings.insert(0, f"the last recurring invoice {last.number} includes not only "
                                  "the service charge: its future items were not deleted")
    return result
