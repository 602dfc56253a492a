"""What of a payment may still be refunded, counting money that came back after it was given
back (a refund that failed after it succeeded, a dispute won)."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, select

from hub.db.models.ledger import Payment, PaymentStatus
from hub.errors import ValidationFailed
from hub.ledger._base import ZERO

__all__ = ["refundable", "reinstated_payment", "refuse_reinstatement"]


def refundable(session: Session, payment: Payment) -> Decimal:
    """What of ``payment`` the ledger has not refunded yet (refund requests still on their way
    to a processor are not counted here: :mod:`hub.ledger.refund_requests` does that). What
    was given back and then came back (a refund that failed after it succeeded, a dispute
    won) is refundable again: it is with the merchant once more."""
    refunds = session.exec(select(Payment).where(Payment.refund_of_id == payment.id,
                                                 Payment.status == PaymentStatus.succeeded))
    return payment.amount + sum((r.amount for r in refunds), ZERO) + sum(
        (r.amount for r in _reinstatements(session, payment)), ZERO)


def _reinstatements(session: Session, payment: Payment) -> list[Payment]:
    """The payments that reinstate money of ``payment`` (positive, tied to its processor
    object: see :func:`hub.ledger.events._reinstate`)."""
    if not (payment.processor and payment.processor_object_id):
        return []
    return list(session.exec(select(Payment).where(
        Payment.processor == payment.processor,
        Payment.related_object_id == payment.processor_object_id,
        Payment.amount > 0, Payment.status == PaymentStatus.succeeded,
        Payment.id != payment.id)))


def refuse_reinstatement(session: Session, payment: Payment) -> None:
    """:class:`ValidationFailed` when ``payment`` reinstates another payment's money (see
    :func:`reinstated_payment`): the refund is asked of that payment."""
    source = reinstated_payment(session, payment)
    if source is not None:
        raise ValidationFailed(f"payment {payment.id} puts back money of payment {source.id} "
                               f"({payment.note}); it is refunded as part of that payment",
                               hint=f"refund payment {source.id} instead")


def reinstated_payment(session: Session, payment: Payment) -> Payment | None:
    """The payment whose money ``payment`` reinstates, if it is such a row: it is refunded
    as part of that payment, never on its own (its processor object is not a charge)."""
    if payment.amount <= 0 or not payment.related_object_id or not payment.processor:
        return None
    return session.exec(select(Payment).where(
        Payment.processor == payment.processor,
        Payment.processor_object_id == payment.related_object_id)).first()
