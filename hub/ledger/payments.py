"""Money in and back out: payments (full, partial, over, split), quick "mark paid", manual
allocation, paying from the account balance, and refunds (negative payments). Refunds asked of
the processor that took a payment are in :mod:`hub.ledger.refund_requests`.

Every function validates everything first and then writes, inside the caller's transaction, so a
refused request leaves nothing behind. A finalised payment or refund gets one "push" outbox row
per accounting connection in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Hashable, Mapping, Sequence

from sqlmodel import Session, select

from hub import audit
from hub.core.ledger.allocation import (
    CreditSource, OpenItem, Plan, allocate_automatically, allocate_manually, draw_from_credits,
)
from hub.core.money import Money, shown
from hub.db.models.invoices import Invoice
from hub.db.models.ledger import (
    Allocation, AllocationKind, Payment, PaymentMethod, PaymentStatus, Side, Transaction,
    TransactionCategory,
)
from hub.db.models.sync import ExternalLink
from hub.errors import NotFound, ValidationFailed
from hub.ledger.account_states import lift_if_paid
from hub.ledger.amounts import check_refund_entry, exact_amount, refund_refused
from hub.ledger.refundable import refundable, refuse_reinstatement
from hub.validation.fields import (
    NOTE_LENGTH, REFERENCE_LENGTH, check_length, check_not_far_ahead, check_not_far_back,
)
from hub.ledger._base import (
    ZERO, free_credits, get_invoice, live_invoices_due, lock_account, money, open_debits,
    payable_invoice, push_targets, refresh_invoice, write_outbox,
)

__all__ = ["record_payment", "mark_paid", "allocate_payment", "apply_account_credit", "refund",
           "refund_from_balance", "refundable", "payment_method", "post_payment",
           "payment_transaction", "write_allocations"]


def payment_method(value: PaymentMethod | str) -> PaymentMethod:
    """The named payment method, or a refusal listing the known ones."""
    try:
        return PaymentMethod(value)
    except ValueError:
        raise ValidationFailed(f"unknown payment method {value!r}",
                               hint="use one of: " + ", ".join(m.value for m in PaymentMethod)
                               ) from None


def _open_items(session: Session, organisation_id: int, currency: str) -> list[OpenItem]:
    items = [OpenItem(("tx", t.id), money(due, currency), t.date, t.id, is_invoice=False)
             for t, due in open_debits(session, organisation_id) if due > 0]
    # Invoices in the order of their creation (seed 002: "if a customer has several Unpaid
    # invoices and payment is received, the invoices will be paid in the order of their
    # creation"), not by document date: a back-dated invoice made today is paid after older ones.
    items += [OpenItem(("inv", i.id), money(i.amount_due, currency), dt.date.min, i.id)
              for i in live_invoices_due(session, organisation_id) if i.amount_due > 0]
    return items


def payment_transaction(session: Session, payment: Payment) -> Transaction | None:
    """The ledger transaction of a payment (credit) or refund (debit)."""
    return session.exec(select(Transaction).where(Transaction.payment_id == payment.id)).first()


def write_allocations(session: Session, source: Transaction, kind: AllocationKind,
                      parts: Sequence[tuple[Hashable, Money]], *, payment_id: int | None = None,
                      credit_note_id: int | None = None) -> set[int]:
    """Store the plan's parts as allocations from ``source``; returns the invoice ids touched."""
    touched: set[int] = set()
    for (target_kind, target_id), part in parts:
        alloc = Allocation(organisation_id=source.organisation_id, kind=kind,
                           source_transaction_id=source.id, amount=part.amount,
                           payment_id=payment_id, credit_note_id=credit_note_id)
        if target_kind == "inv":
            alloc.invoice_id = target_id
            touched.add(target_id)
        else:
            alloc.target_transaction_id = target_id
        session.add(alloc)
    session.flush()
    return touched


def _refresh(session: Session, invoice_ids: set[int], today: dt.date) -> None:
    for invoice_id in sorted(invoice_ids):
        refresh_invoice(session, get_invoice(session, invoice_id), today)


def _own_invoice(session: Session, organisation_id: int, currency: str, invoice_id: int
                 ) -> Invoice:
    """A payable invoice of the paying organisation, in the payment's currency: a payment
    (or a credit) never pays another customer's invoice, whatever is still due on it."""
    invoice = payable_invoice(session, invoice_id)
    if invoice.organisation_id != organisation_id:
        raise ValidationFailed(f"invoice {invoice.number or invoice.id} belongs to another "
                               "organisation",
                               hint="pay it with a payment of its own organisation")
    if invoice.currency != currency:
        raise ValidationFailed(f"invoice {invoice.number} is in {invoice.currency}, the payment "
                               f"in {currency}", hint="pay an invoice in its own currency")
    return invoice


def _plan(session: Session, organisation_id: int, amount: Money, invoice_id: int | None,
          allocations: Mapping[int, Decimal | str] | None) -> Plan:
    if allocations:
        # Planned under the names people know ("invoice INV-0042"), which its refusals show,
        # then turned back into the ("inv", id) keys the allocations are written with.
        label = {}
        for inv_id in map(int, allocations):
            invoice = _own_invoice(session, organisation_id, amount.currency, inv_id)
            label[inv_id] = (f"invoice {invoice.number or f'id {inv_id}'}", invoice.amount_due)
        due = {name: money(left, amount.currency) for name, left in label.values()}
        requested = {label[int(k)][0]: Money(exact_amount(v, amount.currency, "allocation to "
                                                          + label[int(k)][0]), amount.currency)
                     for k, v in allocations.items()}
        plan = allocate_manually(amount, requested, due)
        key_of = {name: ("inv", inv_id) for inv_id, (name, _) in label.items()}
        plan.parts = [(key_of[name], part) for name, part in plan.parts]
        return plan
    if invoice_id is not None:
        # A payment taken on one invoice pays that invoice; any excess is store credit (seed 000).
        invoice = _own_invoice(session, organisation_id, amount.currency, invoice_id)
        item = OpenItem(("inv", invoice.id), money(invoice.amount_due, amount.currency),
                        invoice.issue_date, invoice.id)
        return allocate_automatically(amount, [item])
    return allocate_automatically(amount, _open_items(session, organisation_id, amount.currency))


def push_payment(session: Session, payment: Payment, push_to: Sequence[str] | None) -> None:
    """Ask for the payment to be pushed to accounting — except to the system it came from: a
    payment recorded directly in Xero (and brought in by its webhook) already exists there, so
    it is linked to its Xero id instead of being pushed back as a duplicate."""
    targets = push_targets(session, push_to)
    if payment.processor in targets and payment.processor_object_id:
        targets = [t for t in targets if t != payment.processor]
        session.add(ExternalLink(document_kind="payment", document_id=payment.id,
                                 connection=payment.processor,
                                 external_id=payment.processor_object_id))
    write_outbox(session, "payment", payment.id, targets)


def post_payment(session: Session, payment: Payment, plan: Plan, today: dt.date,
                 push_to: Sequence[str] | None) -> Payment:
    """Put a succeeded payment on the ledger: credit transaction, allocations, statuses, outbox."""
    tx = Transaction(organisation_id=payment.organisation_id, currency=payment.currency,
                     side=Side.credit, category=TransactionCategory.payment, amount=payment.amount,
                     date=payment.date, payment_id=payment.id, invoice_id=payment.invoice_id,
                     description=f"payment {payment.id} ({payment.method})")
    session.add(tx)
    session.flush()
    touched = write_allocations(session, tx, AllocationKind.payment, plan.parts,
                                payment_id=payment.id)
    if payment.invoice_id is not None:
        touched.add(payment.invoice_id)
    _refresh(session, touched, today)
    push_payment(session, payment, push_to)
    lift_if_paid(session, payment.organisation_id, payment.date)  # seed 002: payment unblocks
    return payment


def record_payment(session: Session, organisation_id: int, amount: Decimal | str, *,
                   date: dt.date, today: dt.date | None = None,
                   method: PaymentMethod | str = PaymentMethod.other,
                   invoice_id: int | None = None,
                   allocations: Mapping[int, Decimal | str] | None = None,
                   reference: str = "", note: str = "", processor: str | None = None,
                   processor_object_id: str | None = None,
                   push_to: Sequence[str] | None = None,
                   currency: str | None = None) -> Payment:
    """Record a payment and allocate it.

    - ``allocations`` (invoice id -> amount): manual allocation, e.g. one payment split across
      several invoices; the rest is account credit;
    - ``invoice_id`` alone: the payment is for that invoice (full or partial); an overpayment
      becomes account credit (store credit), never an overpaid invoice;
    - neither: automatic allocation in the seed's order (open debits oldest first, then
      invoices in the order they were created).

    The amount must be a whole number of the currency's minor unit; ``currency``, when given,
    must be the organisation's (payments are in the organisation's currency).
    """
    check_length(reference, "payment reference", REFERENCE_LENGTH)
    check_length(note, "payment note", NOTE_LENGTH)
    check_not_far_ahead(date, today, "payment date")
    check_not_far_back(date, today, "payment date")
    if invoice_id is not None and allocations:
        raise ValidationFailed("a payment is either for one invoice or split by allocations, "
                               "not both", hint="give --invoice alone, or --allocate "
                               "INVOICE=AMOUNT for each invoice (the invoice included)")
    org = lock_account(session, organisation_id)
    if currency is not None and currency.upper() != org.currency:
        raise ValidationFailed(
            f"a payment in {currency} cannot be recorded: payments are in the organisation's "
            f"currency ({org.currency})",
            hint=f"convert the amount to {org.currency} and record it in {org.currency}")
    value = Money(exact_amount(amount, org.currency, "payment"), org.currency)
    method = payment_method(method)
    plan = _plan(session, org.id, value, invoice_id, allocations)  # own invoices only
    payment = Payment(organisation_id=org.id, currency=org.currency, amount=value.amount,
                      method=method, status=PaymentStatus.succeeded, date=date,
                      reference=reference, note=note, invoice_id=invoice_id,
                      processor=processor, processor_object_id=processor_object_id)
    session.add(payment)
    session.flush()
    audit.record(session, "payment.recorded", "payment", payment.id,
                 summary=f"{shown(value.amount, value.currency)} ({method.value}) from "
                         f"organisation {org.id}"
                         + (f" for invoice {invoice_id}" if invoice_id else ""))
    return post_payment(session, payment, plan, today or date, push_to)


def mark_paid(session: Session, invoice_id: int, *, date: dt.date, today: dt.date | None = None,
              method: PaymentMethod | str = PaymentMethod.other, reference: str = "",
              push_to: Sequence[str] | None = None) -> Payment:
    """Quick payment: pay the invoice's whole amount due with one click."""
    invoice = payable_invoice(session, invoice_id)
    if invoice.amount_due <= 0:
        raise ValidationFailed(f"invoice {invoice.number} has nothing due",
                               hint="it is already paid; record a payment without an invoice "
                                    "to put money on the account")
    return record_payment(session, invoice.organisation_id, invoice.amount_due, date=date,
                          today=today, method=method, invoice_id=invoice.id, reference=reference,
                          push_to=push_to)


def allocate_payment(session: Session, payment_id: int, allocations: Mapping[int, Decimal | str],
                     *, today: dt.date) -> list[Allocation]:
    """Manually allocate the unallocated part of an existing payment to invoices."""
    payment = session.get(Payment, payment_id)
    if payment is None or payment.status != PaymentStatus.succeeded or payment.amount <= 0:
        raise NotFound(f"no succeeded payment with id {payment_id}")
    lock_account(session, payment.organisation_id)
    tx = payment_transaction(session, payment)
    free = dict((t.id, left) for t, left in free_credits(session, payment.organisation_id))
    available = money(free.get(tx.id, ZERO), payment.currency)
    if available.amount <= 0:
        raise ValidationFailed(f"payment {payment.id} is fully allocated",
                               hint="refund it or record a new payment")
    plan = _plan(session, payment.organisation_id, available, None, allocations)
    touched = write_allocations(session, tx, AllocationKind.payment, plan.parts,
                                payment_id=payment.id)
    _refresh(session, touched, today)
    return list(session.exec(select(Allocation).where(Allocation.payment_id == payment.id)))


def apply_account_credit(session: Session, invoice_id: int, amount: Decimal | str | None = None,
                         *, today: dt.date) -> Invoice:
    """Pay an invoice from the customer's account credit ("paid from balance")."""
    invoice = payable_invoice(session, invoice_id)
    lock_account(session, invoice.organisation_id)
    session.refresh(invoice)
    if invoice.amount_due <= 0:
        raise ValidationFailed(f"invoice {invoice.number} has nothing due")
    credits = [CreditSource(t.id, money(left, invoice.currency), t.date, t.id)
               for t, left in free_credits(session, invoice.organisation_id) if left > 0]
    available = Money.sum((c.available for c in credits), invoice.currency)
    due = money(invoice.amount_due, invoice.currency)
    wanted = Money(exact_amount(amount, invoice.currency), invoice.currency) \
        if amount is not None else \
        (due if due <= available else available)
    if wanted > due:  # Money: shown in the currency's minor unit
        raise ValidationFailed(f"{wanted} is more than the {due} due on invoice {invoice.number}",
                               hint="an invoice is never overpaid; apply at most the amount due")
    plan = draw_from_credits(wanted, credits)
    for tx_id, part in plan.parts:
        source = session.get(Transaction, tx_id)
        write_allocations(session, source, AllocationKind.balance, [(("inv", invoice.id), part)],
                          payment_id=source.payment_id, credit_note_id=source.credit_note_id)
    refresh_invoice(session, invoice, today)
    return invoice


def _release(session: Session, source: Transaction, needed: Decimal, today: dt.date) -> None:
    """Take back allocations of ``source`` (newest first) until ``needed`` is free again; the
    invoices they paid become partially paid or unpaid again."""
    touched: set[int] = set()
    allocs = session.exec(select(Allocation).where(
        Allocation.source_transaction_id == source.id, Allocation.kind != AllocationKind.refund)
        .order_by(Allocation.id.desc())).all()
    for alloc in allocs:
        if needed <= 0:
            break
        take = min(alloc.amount, needed)
        needed -= take
        if alloc.invoice_id is not None:
            touched.add(alloc.invoice_id)
        if take == alloc.amount:
            session.delete(alloc)
        else:
            alloc.amount -= take
            session.add(alloc)
    session.flush()
    _refresh(session, touched, today)


def _refund_row(session: Session, *, organisation_id: int, currency: str, amount: Decimal,
                date: dt.date, method: PaymentMethod, original: Payment | None, reason: str,
                processor: str | None, processor_object_id: str | None) -> tuple[Payment, Transaction]:
    row = Payment(organisation_id=organisation_id, currency=currency, amount=-amount,
                  method=method, status=PaymentStatus.succeeded, date=date, note=reason,
                  invoice_id=original.invoice_id if original else None,
                  refund_of_id=original.id if original else None, processor=processor,
                  processor_object_id=processor_object_id,
                  related_object_id=original.processor_object_id if original else None)
    session.add(row)
    session.flush()
    tx = Transaction(organisation_id=organisation_id, currency=currency, side=Side.debit,
                     category=TransactionCategory.refund, amount=amount, date=date,
                     payment_id=row.id, description=f"refund {row.id}")
    session.add(tx)
    session.flush()
    return row, tx


def refund(session: Session, payment_id: int, amount: Decimal | str | None = None, *,
           date: dt.date, today: dt.date | None = None, reason: str = "",
           method: PaymentMethod | str | None = None, processor: str | None = None,
           processor_object_id: str | None = None,
           push_to: Sequence[str] | None = None) -> Payment:
    """Refund (part of) a payment: a negative payment. It uses the payment's unallocated part
    first, then takes back its allocations (newest first), reopening what they paid."""
    original = session.get(Payment, payment_id)
    if original is None or original.amount <= 0 or original.status != PaymentStatus.succeeded:
        raise NotFound(f"no succeeded payment with id {payment_id} to refund")
    refuse_reinstatement(session, original)
    lock_account(session, original.organisation_id)
    if date < original.date:
        raise ValidationFailed(f"a refund of payment {original.id} cannot be dated {date}, "
                               f"before the payment ({original.date})",
                               hint=f"date it {original.date} or later")
    left = refundable(session, original)
    value = exact_amount(amount, original.currency, "refund") if amount is not None else left
    if value <= 0 or value > left:
        raise refund_refused(original.id, original.currency, left)
    source = payment_transaction(session, original)
    free = dict((t.id, rest) for t, rest in free_credits(session, original.organisation_id))
    if free.get(source.id, ZERO) < value:
        _release(session, source, value - free.get(source.id, ZERO), today or date)
    row, tx = _refund_row(session, organisation_id=original.organisation_id,
                          currency=original.currency, amount=value, date=date,
                          method=payment_method(method or original.method), original=original,
                          reason=reason, processor=processor,
                          processor_object_id=processor_object_id)
    write_allocations(session, source, AllocationKind.refund, [(("tx", tx.id),
                      money(value, original.currency))], payment_id=original.id)
    push_payment(session, row, push_to)
    audit.record(session, "payment.refunded", "payment", original.id,
                 summary=f"{shown(value, original.currency)} refunded (refund {row.id})"
                         + (f": {reason}" if reason else ""))
    return row


def refund_from_balance(session: Session, organisation_id: int, amount: Decimal | str, *,
                        date: dt.date, method: PaymentMethod | str = PaymentMethod.other,
                        reason: str = "", push_to: Sequence[str] | None = None,
                        today: dt.date | None = None) -> Payment:
    """Pay account credit back to the customer (a standalone negative payment, seed 002's
    "payments with a negative value"), drawn from the oldest free credit first; more than the
    free credit is refused. ``today`` refuses a ``date`` more than a year after it."""
    check_refund_entry(date, today, reason)
    org = lock_account(session, organisation_id)
    value = Money(exact_amount(amount, org.currency, "refund"), org.currency)
    credits = [CreditSource(t.id, money(rest, org.currency), t.date, t.id)
               for t, rest in free_credits(session, org.id) if rest > 0]
    plan = draw_from_credits(value, credits)
    row, tx = _refund_row(session, organisation_id=org.id, currency=org.currency,
                          amount=value.amount, date=date, method=payment_method(method),
                          original=None, reason=reason, processor=None, processor_object_id=None)
    for tx_id, part in plan.parts:
        source = session.get(Transaction, tx_id)
        write_allocations(session, source, AllocationKind.refund, [(("tx", tx.id), part)],
                          payment_id=source.payment_id, credit_note_id=source.credit_note_id)
    push_payment(session, row, push_to)
    audit.record(session, "payment.refunded_from_balance", "payment", row.id,
                 summary=f"{shown(value.amount, org.currency)} of account credit paid back to "
                         f"organisation {org.id}" + (f": {reason}" if reason else ""))
    return row
