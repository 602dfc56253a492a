"""Refunds asked of the processor that took a payment, and what is left to refund meanwhile.

A refund of a card payment is an outbox row (effect ``refund``); the ledger refund is written
only when the processor's refund event comes back (:func:`hub.ledger.apply_payment_event`,
keyed by the refund's id). Between the two the request is *on its way*, and it must count:
otherwise the same 644.00 can be asked for again and again while the first request waits.

What may still be refunded is therefore what was paid, less the refunds in the ledger, less the
requests on their way. A request stops being on its way when

- the processor refused it (the row failed), or its refund failed later (a
  ``refund_failed`` event: :func:`refund_failed_at_processor` notes it on the row), or
- the refund it made is in the ledger: the refund job keeps the processor's refund id on the
  row (``payload["refund_object_id"]``), and the ledger refund carries the same id as its
  ``processor_object_id`` — so a recorded refund is counted once, in the ledger.

A row done without a refund id (the processor named none) is known only through the ledger.
Requests for one account are made one at a time under :func:`~hub.ledger._base.lock_account`,
so two racing requests cannot both see the same amount left.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from decimal import Decimal

from sqlmodel import Session, select

from hub import audit
from hub.core.money import shown
from hub.db.models.ledger import Payment, PaymentStatus
from hub.db.models.sync import Effect, OutboxEntry, OutboxStatus
from hub.errors import DocumentRefused, NotFound, ValidationFailed
from hub.ledger._base import ZERO, lock_account
from hub.ledger.amounts import check_refund_entry, exact_amount, refund_refused
from hub.ledger.payments import refund
from hub.ledger.refundable import refundable, refuse_reinstatement

__all__ = ["request_refund", "refunds_on_their_way", "refund_where_taken", "taken_by_processor",
           "refund_failed_at_processor", "REFUND_OBJECT_ID", "REFUND_FAILED"]

#: Outbox payload key where the refund job keeps the processor's id of the refund it made.
REFUND_OBJECT_ID = "refund_object_id"


def taken_by_processor(payment: Payment, processors: Collection[str]) -> bool:
    """Whether ``payment`` was taken by one of ``processors`` (the connections that take
    payments: a card through Stripe), so that a refund must go back through it rather than
    only into the books. A payment read from an accounting system (Xero, QuickBooks) names
    that system too, but the money did not come through it: it is refunded in the ledger."""
    return bool(payment.processor and payment.processor_object_id
                and payment.processor in processors)


def _refund_requests(session: Session, payment: Payment) -> list[OutboxEntry]:
    return list(session.exec(select(OutboxEntry).where(
        OutboxEntry.effect == Effect.refund, OutboxEntry.document_kind == "payment",
        OutboxEntry.document_id == payment.id).order_by(OutboxEntry.id)))


#: Outbox payload key where a refund the processor made and then failed keeps its reason.
REFUND_FAILED = "refund_failed"


def _on_its_way(row: OutboxEntry, recorded: set[str]) -> bool:
    if row.status == OutboxStatus.failed or row.payload.get(REFUND_FAILED):
        return False
    object_id = row.payload.get(REFUND_OBJECT_ID)
    if object_id is None:
        return row.status != OutboxStatus.done
    return object_id not in recorded


def refunds_on_their_way(session: Session, payment: Payment,
                         requests: list[OutboxEntry] | None = None) -> list[OutboxEntry]:
    """The refund requests of ``payment`` neither refused by the processor nor yet recorded
    in the ledger (oldest first)."""
    recorded = set(session.exec(select(Payment.processor_object_id).where(
        Payment.refund_of_id == payment.id, Payment.processor_object_id.is_not(None))))
    rows = _refund_requests(session, payment) if requests is None else requests
    return [row for row in rows if _on_its_way(row, recorded)]


def refund_failed_at_processor(session: Session, original: Payment, refund_object_id: str,
                               reason: str) -> bool:
    """Note on ``original``'s refund request that the processor's refund ``refund_object_id``
    failed (its amount is free to refund again). False when no request made that refund (it
    was made at the processor itself)."""
    for row in _refund_requests(session, original):
        if row.payload.get(REFUND_OBJECT_ID) == refund_object_id:
            if not row.payload.get(REFUND_FAILED):
                # a new dict: the JSON column notices reassignment, not changes in place
                row.payload = {**row.payload, REFUND_FAILED: reason or "failed"}
                session.add(row)
            return True
    return False


def _refused(original: Payment, waiting: list[OutboxEntry], left: Decimal) -> DocumentRefused:
    listed = "; ".join(f"outbox row {r.id}: {shown(r.payload['amount'], original.currency)}, "
                       f"{r.status.value}" for r in waiting)
    rest = f"only {shown(left, original.currency)} is left" if left > 0 else "nothing is left"
    return DocumentRefused(
        f"a refund of payment {original.id} is already on its way to {original.processor} "
        f"({listed}), so {rest} to refund",
        hint=f"wait until {original.processor} confirms it (the refund then shows on the "
             "payment) or refuses it (the row fails and its amount is free again); "
             + (f"ask for at most {shown(left, original.currency)} now" if left > 0
                else "then ask again if need be"))


def request_refund(session: Session, payment_id: int, amount: Decimal | str | None = None, *,
                   reason: str = "") -> OutboxEntry:
    """Ask the processor that took a payment to refund (part of) it: an outbox row (effect
    ``refund``) for the payment's processor connection. ``amount`` defaults to all that is
    left: paid, less refunds in the ledger, less requests on their way. More than that is
    refused: :class:`DocumentRefused` (409) naming the requests on their way, or
    :class:`ValidationFailed` when nothing is on its way."""
    original = session.get(Payment, payment_id)
    if original is None or original.amount <= 0 or original.status != PaymentStatus.succeeded:
        raise NotFound(f"no succeeded payment with id {payment_id} to refund")
    refuse_reinstatement(session, original)
    if not (original.processor and original.processor_object_id):
        raise ValidationFailed(f"payment {payment_id} was not taken by a processor",
                               hint="record the refund in the ledger: `hub payment refund`")
    lock_account(session, original.organisation_id)
    requests = _refund_requests(session, original)
    waiting = refunds_on_their_way(session, original, requests)
    left = refundable(session, original) - sum(
        (Decimal(r.payload["amount"]) for r in waiting), ZERO)
    value = exact_amount(amount, original.currency, "refund") if amount is not None else left
    if waiting and (value > left or (amount is None and left <= 0)):
        raise _refused(original, waiting, max(left, ZERO))
    if value <= 0 or value > left:
        raise refund_refused(original.id, original.currency, left)
    row = OutboxEntry(effect=Effect.refund, document_kind="payment", document_id=original.id,
                      connection=original.processor,
                      generation=max((r.generation + 1 for r in requests), default=0),
                      payload={"amount": str(value), "currency": original.currency,
                               "payment_object_id": original.processor_object_id,
                               "reason": reason})
    session.add(row)
    session.flush()
    # The request is what a person did; the ledger's refund (and its own audit event) follows
    # when the processor confirms, which may be days later or never.
    audit.record(session, "payment.refund_requested", "payment", original.id,
                 summary=f"{shown(value, original.currency)} refund requested from "
                         f"{original.processor} (request {row.id})"
                         + (f": {reason}" if reason else ""))
    return row


def refund_where_taken(session: Session, payment_id: int, amount: Decimal | str | None = None,
                       *, date: dt.date, processors: Collection[str],
                       today: dt.date | None = None, reason: str = "") -> Payment | OutboxEntry:
    """Refund a payment the way its money came in — the one rule the REST API, the admin
    pages and the CLI share: a payment taken by a processor is refunded there
    (:func:`request_refund`, an :class:`OutboxEntry`; the ledger refund follows the
    processor's confirmation); any other is refunded in the ledger (:func:`refund`, the
    negative :class:`Payment`)."""
    check_refund_entry(date, today, reason)
    original = session.get(Payment, payment_id)
    if original is not None and taken_by_processor(original, processors):
        return request_refund(session, payment_id, amount, reason=reason)
    return refund(session, payment_id, amount, date=date, today=today, reason=reason)
