"""``hub_refund_payment``: a Stripe Refund (full or partial) of a PaymentIntent or charge.

The ledger learns of the refund from the answer here and again from ``refund.created`` /
``charge.refunded`` webhooks; both carry the refund id, which de-duplicates them.
"""

from __future__ import annotations

import stripe

from hub import Connection, PermanentError, RefundOutcome, RefundRequest

from hub_payments_stripe.amounts import AmountNotRepresentable, to_minor_units
from hub_payments_stripe.client import client_for
from hub_payments_stripe.errors import as_hub_error, is_transient

__all__ = ["refund_payment", "STRIPE_REASONS"]

#: Reasons Stripe itself takes; any other reason travels in metadata.
STRIPE_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})

_STATUS = {"succeeded": "succeeded", "pending": "pending", "requires_action": "pending",
           "failed": "failed", "canceled": "failed"}


def refund_payment(connection: Connection, refund: RefundRequest) -> RefundOutcome:
    """Refund ``refund.amount`` of ``refund.payment_object_id`` (``pi_...`` or ``ch_...``).

    A refusal (more than is left, already refunded) is a ``failed`` outcome with Stripe's
    message; a transient failure raises :class:`hub.TransientError` so the job retries with the
    same idempotency key.
    """
    try:
        amount = to_minor_units(refund.amount)
    except AmountNotRepresentable as exc:
        raise PermanentError(f"refund of payment {refund.payment_id} refused: {exc}") from None
    target = "charge" if refund.payment_object_id.startswith(("ch_", "py_")) else "payment_intent"
    params: dict = {target: refund.payment_object_id, "amount": amount,
                    "metadata": {"hub_payment_id": str(refund.payment_id)}}
    if refund.reason in STRIPE_REASONS:
        params["reason"] = refund.reason
    elif refund.reason:
        params["metadata"]["hub_reason"] = refund.reason[:500]
    try:
        created = client_for(connection).v1.refunds.create(
            params=params, options={"idempotency_key": refund.idempotency_key})
    except stripe.InvalidRequestError as exc:
        if is_transient(exc):
            raise as_hub_error(exc, "refund") from None
        return RefundOutcome(status="failed", message=exc.user_message or str(exc))
    except stripe.StripeError as exc:
        raise as_hub_error(exc, f"refund payment {refund.payment_id}") from None
    return RefundOutcome(status=_STATUS.get(created["status"], "pending"), object_id=created["id"],
                         message=None if created["status"] == "succeeded" else created["status"])
