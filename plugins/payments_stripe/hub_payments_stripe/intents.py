"""Which hub invoice and organisation a Stripe payment belongs to.

The ledger needs an invoice or an organisation for every payment, refund and dispute. Our own
charges carry both in the PaymentIntent's metadata; refunds and disputes name only their
PaymentIntent (or charge); a payment taken in the Stripe dashboard has no hub metadata at all,
but its customer has (``ensure_customer`` writes ``hub_organisation_id``), so it becomes account
credit of that organisation.

What is learnt is kept in the connection's durable state: the charge hook writes it when it
creates the intent, payment webhooks refresh it, and only an intent or customer never seen
costs one ``retrieve`` call.
"""

from __future__ import annotations

import stripe

from hub import Connection, PaymentEvent, PaymentEventKind

from hub_payments_stripe.client import client_for, plain
from hub_payments_stripe.errors import as_hub_error

__all__ = ["remember", "hub_ids", "organisation_of_customer", "with_hub_ids"]

_PAYMENT_KINDS = frozenset({PaymentEventKind.payment_succeeded, PaymentEventKind.payment_failed,
                            PaymentEventKind.payment_processing})


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def remember(connection: Connection, intent_id: str, invoice_id: int | None,
             organisation_id: int | None) -> None:
    """Keep ``intent_id``'s hub ids (idempotent; nothing to keep when both are unknown)."""
    if invoice_id is None and organisation_id is None:
        return
    value = {"invoice_id": invoice_id, "organisation_id": organisation_id}
    if connection.state.get(f"intent:{intent_id}") != value:
        connection.state.set(f"intent:{intent_id}", value)


def _retrieve(connection: Connection, what: str, object_id: str):
    service = getattr(client_for(connection).v1, what)
    try:
        return plain(service.retrieve(object_id))
    except stripe.InvalidRequestError:
        return None  # deleted, or another account's: the host reports the event it cannot place
    except stripe.StripeError as exc:
        raise as_hub_error(exc, f"look up {object_id}") from None


def organisation_of_customer(connection: Connection, customer_id: str | None) -> int | None:
    """The hub organisation a Stripe customer was made for (its ``hub_organisation_id``)."""
    if not customer_id:
        return None
    key = f"customer:{customer_id}"
    known = connection.state.get(key)
    if known is not None:
        return known or None
    customer = _retrieve(connection, "customers", customer_id)
    found = _int(((customer or {}).get("metadata") or {}).get("hub_organisation_id"))
    connection.state.set(key, found or 0)
    return found


def hub_ids(connection: Connection, object_id: str) -> tuple[int | None, int | None]:
    """``(invoice_id, organisation_id)`` for a PaymentIntent (``pi_``) or charge (``ch_``) id."""
    known = connection.state.get(f"intent:{object_id}")
    if known:
        return known.get("invoice_id"), known.get("organisation_id")
    intent_id = object_id
    if object_id.startswith(("ch_", "py_")):
        charge = _retrieve(connection, "charges", object_id)
        intent_id = (charge or {}).get("payment_intent")
        if not intent_id:
            return None, organisation_of_customer(connection, (charge or {}).get("customer"))
    intent = _retrieve(connection, "payment_intents", intent_id) or {}
    meta = intent.get("metadata") or {}
    invoice_id, organisation_id = _int(meta.get("hub_invoice_id")), _int(meta.get("hub_organisation_id"))
    if organisation_id is None:
        organisation_id = organisation_of_customer(connection, intent.get("customer"))
    remember(connection, object_id, invoice_id, organisation_id)
    return invoice_id, organisation_id


def with_hub_ids(connection: Connection, event: PaymentEvent) -> PaymentEvent:
    """``event`` with its invoice and organisation filled in where Stripe's object lacks them."""
    if event.kind in _PAYMENT_KINDS:
        organisation_id = event.organisation_id
        if organisation_id is None:  # not charged by the hub: whose customer is it?
            obj = (event.raw.get("data") or {}).get("object") or {}
            organisation_id = organisation_of_customer(connection, obj.get("customer"))
        remember(connection, event.object_id, event.invoice_id, organisation_id)
        return event if organisation_id == event.organisation_id else \
            event.model_copy(update={"organisation_id": organisation_id})
    if (event.invoice_id is not None and event.organisation_id is not None) \
            or not event.payment_object_id:
        return event
    invoice_id, organisation_id = hub_ids(connection, event.payment_object_id)
    return event.model_copy(update={
        "invoice_id": event.invoice_id if event.invoice_id is not None else invoice_id,
        "organisation_id": event.organisation_id if event.organisation_id is not None
        else organisation_id})
