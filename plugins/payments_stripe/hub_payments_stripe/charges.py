"""``hub_charge_payment_method``: an off-session PaymentIntent for one invoice attempt.

The charge is created and confirmed in one call (``confirm=true, off_session=true``) with the
host's idempotency key, so a job that runs again after a crash, a timeout or a lost answer gets
Stripe's saved answer for that key instead of a second charge.
"""

from __future__ import annotations

import stripe

from hub import ChargeOutcome, ChargeRequest, ChargeStatus, Connection, PermanentError

from hub_payments_stripe.amounts import AmountNotRepresentable, to_minor_units
from hub_payments_stripe.client import client_for, plain
from hub_payments_stripe.dunning import SECONDS_PER_DAY, next_step
from hub_payments_stripe.errors import (
    DEFAULT_RETRY_AFTER, as_hub_error, is_transient, retry_after_of,
)
from hub_payments_stripe.intents import remember

__all__ = ["charge_payment_method", "charge_params", "outcome_of_intent"]

_STATUS = {
    "succeeded": ChargeStatus.succeeded,
    "processing": ChargeStatus.processing,
    "requires_capture": ChargeStatus.processing,
    "requires_action": ChargeStatus.requires_action,
    "requires_confirmation": ChargeStatus.requires_action,
}


def charge_params(connection: Connection, charge: ChargeRequest) -> dict:
    """The PaymentIntent parameters: the same request gives the same parameters every time,
    which Stripe requires for an idempotency key to be replayed."""
    try:
        amount = to_minor_units(charge.amount)
    except AmountNotRepresentable as exc:
        raise PermanentError(f"invoice {charge.invoice_number} cannot be charged: {exc}") from None
    params = {
        "amount": amount,
        "currency": charge.amount.currency.lower(),
        "customer": charge.customer_ref,
        "payment_method": charge.payment_method_ref,
        "confirm": True,
        "off_session": True,
        "description": f"Invoice {charge.invoice_number}",
        "metadata": {
            "hub_invoice_id": str(charge.invoice_id),
            "hub_organisation_id": str(charge.organisation_id),
            "hub_invoice_number": charge.invoice_number,
            "hub_attempt": str(charge.attempt),
        },
    }
    suffix = getattr(connection.settings, "statement_descriptor_suffix", None)
    if suffix:
        params["statement_descriptor_suffix"] = suffix
    return params


def outcome_of_intent(intent) -> ChargeOutcome:
    """A PaymentIntent's status as a :class:`ChargeOutcome`."""
    status = _STATUS.get(intent["status"])
    if status is None:  # requires_payment_method / canceled without an error: nothing was taken
        error = intent.get("last_payment_error") or {}
        return ChargeOutcome(status=ChargeStatus.declined, object_id=intent["id"],
                             message=error.get("message") or f"payment {intent['status']}")
    message = "the customer must authenticate this payment" \
        if status is ChargeStatus.requires_action else None
    return ChargeOutcome(status=status, object_id=intent["id"], message=message)


def charge_payment_method(connection: Connection, charge: ChargeRequest) -> ChargeOutcome:
    """Charge ``charge.payment_method_ref`` and say what happened (see module docstring)."""
    client = client_for(connection)
    params = charge_params(connection, charge)
    try:
        intent = client.v1.payment_intents.create(
            params=params, options={"idempotency_key": charge.idempotency_key})
    except stripe.CardError as exc:
        outcome = _declined(connection, charge, exc)
        if outcome.object_id:
            remember(connection, outcome.object_id, charge.invoice_id, charge.organisation_id)
        return outcome
    except stripe.StripeError as exc:
        if is_transient(exc):
            return ChargeOutcome(status=ChargeStatus.retry, message=exc.user_message or str(exc),
                                 retry_after=retry_after_of(exc) or DEFAULT_RETRY_AFTER)
        raise as_hub_error(exc, f"charge invoice {charge.invoice_number}") from None
    remember(connection, intent["id"], charge.invoice_id, charge.organisation_id)
    return outcome_of_intent(plain(intent))


def _declined(connection: Connection, charge: ChargeRequest, exc: stripe.CardError) -> ChargeOutcome:
    error = exc.error
    intent = getattr(error, "payment_intent", None) if error else None
    intent_id = intent["id"] if intent else None
    code = (error.decline_code or error.code) if error else exc.code
    message = exc.user_message or str(exc)
    if exc.code == "authentication_required":
        # Off-session charge needs the cardholder (SCA): mark the invoice, notify, no dunning.
        return ChargeOutcome(status=ChargeStatus.requires_action, object_id=intent_id,
                             message=f"{message} Send the customer the payment link to authenticate.")
    step = next_step(max(charge.attempt, 1), connection.now().date(),
                     connection.settings.dunning, decline_code=code)
    retry_after = step.wait_days * SECONDS_PER_DAY if step.wait_days is not None else None
    return ChargeOutcome(status=ChargeStatus.declined, object_id=intent_id,
                         message=f"{message} ({code}); {step.reason}", retry_after=retry_after)
