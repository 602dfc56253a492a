"""Processor events (from the payments plugin) applied to the ledger once, in any order.

- one ledger payment per ``(processor, object_id)``, held by a unique constraint: a replayed
  event finds its row and changes nothing;
- a payment's state only moves forward: processing < failed < succeeded, so a late
  'processing' never downgrades a paid invoice (a failed intent may still succeed later);
- a refund or dispute that arrives before its payment waits (``awaiting_original``) and is
  applied when the payment succeeds;
- a dispute holds the money (a negative payment drawn from the disputed payment); a dispute
  closed as won gives it back (``<dispute id>:won``), one closed as lost keeps the hold;
- money for an invoice that no longer exists (deleted completely after the charge started) is
  never lost: it is recorded as account credit of the organisation, and the payment's note says
  so (the finding a person reads in ``hub payment list``; a warning is logged too);
- an event that can never succeed (currency other than the account's, amount not above zero or
  beyond what the ledger can store, no organisation) fails at once with
  :class:`~hub.errors.PermanentError` and its reason, instead of being retried;
- a card update (``payment_method_updated``) updates the stored payment profile.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from hub.core.ledger.allocation import OpenItem, Plan, allocate_automatically
from hub.db.models.catalogue import Organisation
from hub.db.models.invoices import Invoice
from hub.db.models.ledger import Payment, PaymentMethod, PaymentStatus
from hub.contract.records import PaymentEvent, PaymentEventKind
from hub.core.money import is_whole_minor_units
from hub.db.types import MAX_INTEGER_DIGITS
from hub.errors import PermanentError
from hub.ledger._base import ZERO, is_live, lock_account, money, refresh_invoice
from hub.ledger.payment_profiles import apply_card_event
from hub.ledger.payments import post_payment, refund, refundable

__all__ = ["apply_payment_event", "EventCannotSucceed"]

log = logging.getLogger("hub.ledger.events")


class EventCannotSucceed(PermanentError):
    """A processor event the ledger can never apply; retrying would change nothing."""


def _never(event: PaymentEvent, reason: str, hint: str) -> EventCannotSucceed:
    return EventCannotSucceed(f"{event.kind} event {event.event_id} cannot be applied: {reason}",
                              hint=hint)

_RANK = {PaymentStatus.processing: 1, PaymentStatus.failed: 2, PaymentStatus.succeeded: 3}
_GIVE_BACK = {PaymentEventKind.refunded, PaymentEventKind.dispute_opened,
              PaymentEventKind.dispute_closed}
_CHARGE = {PaymentEventKind.payment_processing: PaymentStatus.processing,
           PaymentEventKind.payment_failed: PaymentStatus.failed,
           PaymentEventKind.payment_succeeded: PaymentStatus.succeeded}


def _find(session: Session, processor: str, object_id: str | None) -> Payment | None:
    if object_id is None:
        return None
    return session.exec(select(Payment).where(Payment.processor == processor,
                                              Payment.processor_object_id == object_id)).first()


def _invoice(session: Session, event: PaymentEvent) -> Invoice | None:
    return session.get(Invoice, event.invoice_id) if event.invoice_id is not None else None


def _organisation_id(session: Session, event: PaymentEvent) -> int:
    invoice = _invoice(session, event)
    if invoice is not None:
        return invoice.organisation_id
    if event.organisation_id is None:
        gone = f"invoice {event.invoice_id} no longer exists and " if event.invoice_id else ""
        raise _never(event, f"{gone}it names no organisation",
                     "the payments plugin must set the organisation (hub_organisation_id "
                     "metadata); record the payment by hand with `hub payment add`")
    if session.get(Organisation, event.organisation_id) is None:
        raise _never(event, f"organisation {event.organisation_id} does not exist",
                     "record the payment by hand with `hub payment add`")
    return event.organisation_id


def _insert(session: Session, payment: Payment) -> Payment | None:
    """Insert under a savepoint; None when another worker stored the same processor object
    first. Any other integrity error (a missing invoice or organisation) is not a race and is
    raised: retrying it would fail the same way for ever."""
    try:
        with session.begin_nested():
            session.add(payment)
            session.flush()
    except IntegrityError as exc:
        if _find(session, payment.processor, payment.processor_object_id) is not None:
            return None
        raise PermanentError(f"payment {payment.processor_object_id} could not be stored: "
                             f"{exc.orig}") from None
    return payment


def _check_amount(event: PaymentEvent, currency: str) -> None:
    """Refuse at once what no retry can fix: another currency, an amount not above zero, finer
    than the currency's minor unit, or beyond what the ledger stores."""
    if event.amount is None:
        return
    if event.amount.currency != currency:
        raise _never(event, f"it is in {event.amount.currency}, the account in {currency}",
                     f"payments are in the organisation's currency ({currency}); refund it "
                     "at the processor or record the converted amount by hand")
    value = event.amount.amount
    if value <= 0 or value.adjusted() >= MAX_INTEGER_DIGITS or \
            not is_whole_minor_units(value, currency):
        raise _never(event, f"its amount {value} {currency} is not a storable payment amount",
                     "check the event at the processor; record the payment by hand if real")


def _plan_for(session: Session, payment: Payment) -> Plan:
    amount = money(payment.amount, payment.currency)
    invoice = session.get(Invoice, payment.invoice_id) if payment.invoice_id else None
    items = []
    if invoice is not None and is_live(invoice) and invoice.amount_due > 0:
        items.append(OpenItem(("inv", invoice.id), money(invoice.amount_due, payment.currency),
                              invoice.issue_date, invoice.id))
    return allocate_automatically(amount, items)  # no open invoice: it is account credit


def _succeed(session: Session, payment: Payment, today: dt.date, push_to) -> None:
    payment.status = PaymentStatus.succeeded
    session.add(payment)
    session.flush()
    post_payment(session, payment, _plan_for(session, payment), today, push_to)
    waiting = session.exec(select(Payment).where(
        Payment.processor == payment.processor,
        Payment.related_object_id == payment.processor_object_id,
        Payment.status == PaymentStatus.awaiting_original).order_by(Payment.id)).all()
    for row in waiting:
        object_id, amount, method, day = (row.processor_object_id, row.amount, row.method,
                                          row.date)
        session.delete(row)
        session.flush()
        if amount < 0:
            _hold(session, payment, -amount, object_id, method, day, today, push_to)
        else:
            _reinstate(session, payment, amount, object_id, day, today, push_to)


def _hold(session: Session, original: Payment, amount: Decimal, object_id: str,
          method: PaymentMethod, day: dt.date, today: dt.date, push_to) -> Payment | None:
    amount = min(amount, refundable(session, original))
    if amount <= 0:
        return None  # nothing left to give back: already refunded in full
    return refund(session, original.id, amount, date=day, today=today, method=method,
                  processor=original.processor, processor_object_id=object_id,
                  reason=f"{method} {object_id}", push_to=push_to)


def _reinstate(session: Session, original: Payment, amount: Decimal, object_id: str,
               day: dt.date, today: dt.date, push_to, *,
               method: PaymentMethod = PaymentMethod.dispute,
               note: str = "dispute won: funds reinstated") -> Payment:
    row = Payment(organisation_id=original.organisation_id, currency=original.currency,
                  amount=amount, method=method, status=PaymentStatus.succeeded,
                  date=day, invoice_id=original.invoice_id, processor=original.processor,
                  processor_object_id=object_id, related_object_id=original.processor_object_id,
                  note=note)
    session.add(row)
    session.flush()
    return post_payment(session, row, _plan_for(session, row), today, push_to)


def _amount(event: PaymentEvent, currency: str) -> Decimal:
    if event.amount is None:
        raise _never(event, "it has no amount", "the payments plugin must send the amount")
    _check_amount(event, currency)
    return event.amount.amount


def _method(event: PaymentEvent) -> PaymentMethod:
    """The event's own method (e.g. a bank transfer recorded in Xero); a card when it names
    none, as a payment processor's events do; "other" for a word the ledger does not know."""
    if event.method is None:
        return PaymentMethod.card
    try:
        return PaymentMethod(event.method)
    except ValueError:
        return PaymentMethod.other


def _charge(session: Session, processor: str, event: PaymentEvent, today: dt.date,
            push_to) -> Payment | None:
    new_status = _CHARGE[event.kind]
    existing = _find(session, processor, event.object_id)
    if existing is None:
        org_id = _organisation_id(session, event)
        invoice = _invoice(session, event)
        currency = invoice.currency if invoice else session.get(Organisation, org_id).currency
        note = event.message or ""
        if invoice is None and event.invoice_id is not None:
            # Deleted completely while the charge was under way: the money is real, so it is
            # kept as account credit, and the note is the finding a person follows up.
            note = (f"invoice {event.invoice_id} no longer exists: the money is held as "
                    f"account credit. {note}").strip()
            log.warning("payment %s names invoice %s, which no longer exists: recorded as "
                        "account credit", event.object_id, event.invoice_id,
                        extra={"connection": processor, "event_id": event.event_id})
        if event.amount is not None:
            amount = _amount(event, currency)
        elif new_status == PaymentStatus.succeeded:
            raise _never(event, "it succeeded without an amount",
                         "the payments plugin must send the amount received")
        else:
            amount = invoice.amount_due if invoice else Decimal(0)
        row = Payment(organisation_id=org_id, currency=currency, amount=amount,
                      method=_method(event), status=PaymentStatus.processing,
                      date=event.occurred_at.date(),
                      invoice_id=invoice.id if invoice is not None else None,
                      processor=processor, processor_object_id=event.object_id,
                      reference=event.reference or event.object_id, note=note)
        if _insert(session, row) is None:  # another worker stored it first: that row wins
            existing = _find(session, processor, event.object_id)
            old = existing.status
            if old not in _RANK or _RANK[new_status] <= _RANK[old]:
                return existing
        else:
            existing, old = row, None
    else:
        old = existing.status
        if old not in _RANK or _RANK[new_status] <= _RANK[old]:
            return existing  # a duplicate or a late, older state: nothing changes
    if new_status == PaymentStatus.succeeded:
        if event.amount is not None:
            existing.amount = _amount(event, existing.currency)
        _succeed(session, existing, today, push_to)
    else:
        existing.status = new_status
        session.add(existing)
        session.flush()
        if existing.invoice_id is not None:
            invoice = session.get(Invoice, existing.invoice_id)
            if invoice is not None:
                refresh_invoice(session, invoice, today)
    return existing


def _waiting(session: Session, processor: str, event: PaymentEvent, object_id: str,
             amount: Decimal, method: PaymentMethod) -> Payment | None:
    invoice = _invoice(session, event)
    row = Payment(organisation_id=_organisation_id(session, event),
                  currency=event.amount.currency if event.amount else "USD", amount=amount,
                  method=method, status=PaymentStatus.awaiting_original,
                  date=event.occurred_at.date(), invoice_id=invoice.id if invoice else None,
                  processor=processor, processor_object_id=object_id,
                  related_object_id=event.payment_object_id)
    return _insert(session, row)


def _give_back(session: Session, processor: str, event: PaymentEvent, today: dt.date, push_to,
               *, object_id: str, method: PaymentMethod, won: bool = False) -> Payment | None:
    if _find(session, processor, object_id) is not None:
        return None
    original = _find(session, processor, event.payment_object_id)
    amount = _amount(event, original.currency if original else event.amount.currency
                     if event.amount else "USD")
    if original is None or original.status != PaymentStatus.succeeded:
        held = _waiting(session, processor, event, object_id, -amount, method)
        if won:
            _waiting(session, processor, event, f"{object_id}:won", amount, method)
        return held
    held = _hold(session, original, amount, object_id, method, event.occurred_at.date(), today,
                 push_to)
    if won and held is not None:
        _reinstate(session, original, amount, f"{object_id}:won", event.occurred_at.date(),
                   today, push_to)
    return held


def _refund_failed(session: Session, processor: str, event: PaymentEvent, today: dt.date,
                   push_to) -> Payment | None:
    """A refund the processor made failed or was canceled: its request is no longer on its
    way; and if the ledger had already recorded it as succeeded (a refund can fail days later),
    the money is back with the customer's payment: the payment is reinstated (once)."""
    from hub.ledger.refund_requests import refund_failed_at_processor

    original = _find(session, processor, event.payment_object_id)
    if original is not None:
        refund_failed_at_processor(session, original, event.object_id, event.message or "")
    recorded = _find(session, processor, event.object_id)
    if recorded is None:
        # Stripe does not promise order: this refund's "succeeded" may still come. A failed
        # row under its id (no money, no posting) makes that later event change nothing.
        return _insert(session, Payment(
            organisation_id=_organisation_id(session, event),
            currency=original.currency if original else (
                event.amount.currency if event.amount else "USD"),
            amount=-event.amount.amount if event.amount else ZERO, method=PaymentMethod.card,
            status=PaymentStatus.failed, date=event.occurred_at.date(),
            invoice_id=original.invoice_id if original else None, processor=processor,
            processor_object_id=event.object_id,
            refund_of_id=original.id if original else None,
            related_object_id=event.payment_object_id,
            note=f"refund failed at {processor}"
                 + (f" ({event.message})" if event.message else "")))
    back = f"{event.object_id}:failed"
    if recorded.status != PaymentStatus.succeeded or _find(session, processor, back) is not None:
        return None
    return _reinstate(session, original, -recorded.amount, back, event.occurred_at.date(),
                      today, push_to, method=recorded.method,
                      note=f"refund {event.object_id} failed at {processor}"
                           + (f" ({event.message})" if event.message else "")
                           + ": the payment stands")


def apply_payment_event(session: Session, connection_name: str, event: PaymentEvent, *,
                        today: dt.date | None = None,
                        push_to: Sequence[str] | None = None) -> Payment | None:
    """Apply one normalised processor event; safe to call again with the same event or with
    events out of order. Returns the payment it concerns, or None when it changes nothing."""
    today = today or event.occurred_at.date()
    if event.kind in _CHARGE or event.kind in _GIVE_BACK or \
            event.kind == PaymentEventKind.refund_failed:
        lock_account(session, _organisation_id(session, event))
    if event.kind in _CHARGE:
        return _charge(session, connection_name, event, today, push_to)
    if event.kind == PaymentEventKind.refunded:
        return _give_back(session, connection_name, event, today, push_to,
                          object_id=event.object_id, method=PaymentMethod.card)
    if event.kind == PaymentEventKind.refund_failed:
        return _refund_failed(session, connection_name, event, today, push_to)
    if event.kind == PaymentEventKind.dispute_opened:
        return _give_back(session, connection_name, event, today, push_to,
                          object_id=event.object_id, method=PaymentMethod.dispute)
    if event.kind == PaymentEventKind.dispute_closed:
        won = (event.status or "").lower() in ("won", "warning_closed")
        hold = _find(session, connection_name, event.object_id)
        if hold is None:  # closed before opened: hold now, and give back at once if won
            return _give_back(session, connection_name, event, today, push_to,
                              object_id=event.object_id, method=PaymentMethod.dispute, won=won)
        if not won or _find(session, connection_name, f"{event.object_id}:won") is not None:
            return None
        if hold.status == PaymentStatus.awaiting_original:
            # The hold itself still waits for its payment: the give-back waits behind it.
            return _waiting(session, connection_name, event, f"{event.object_id}:won",
                            -hold.amount, PaymentMethod.dispute)
        if hold.status == PaymentStatus.succeeded and hold.refund_of_id is not None:
            original = session.get(Payment, hold.refund_of_id)
            return _reinstate(session, original, -hold.amount, f"{event.object_id}:won",
                              event.occurred_at.date(), today, push_to)
        return None
    if event.kind == PaymentEventKind.invoice_voided:
        from hub.ledger.deletion import apply_external_void

        apply_external_void(session, connection_name, event)
        return None
    if event.kind == PaymentEventKind.payment_method_updated:
        apply_card_event(session, connection_name, event)
        return None
    return None  # expiry notices are reminded by the daily card_reminders job; others ignored
