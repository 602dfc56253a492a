"""Stripe's side of a stored payment profile: the customer, the Setup Intent that collects a
card for off-session use (hosted page or Elements), and a payment method attached by id.

What these return (:class:`StoredCard`) is what the host's ``hub.ledger.payment_profiles`` stores.
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe

from hub import Connection, PermanentError

from hub_payments_stripe.client import client_for, plain
from hub_payments_stripe.errors import as_hub_error

__all__ = ["StoredCard", "ensure_customer", "start_setup", "attach_payment_method",
           "describe_payment_method", "card_of"]


@dataclass(frozen=True)
class StoredCard:
    """A payment method as the hub keeps it."""

    customer_ref: str
    payment_method_ref: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


def card_of(payment_method) -> StoredCard:
    """The card facts of a Stripe PaymentMethod (cards and US bank accounts)."""
    payment_method = plain(payment_method)
    kind = payment_method["type"]
    details = payment_method.get(kind) or {}
    if kind == "card":
        return StoredCard(payment_method.get("customer") or "", payment_method["id"],
                          details["brand"], details["last4"], int(details["exp_month"]),
                          int(details["exp_year"]))
    if kind == "us_bank_account":  # no expiry: far future, so it is never "expiring"
        return StoredCard(payment_method.get("customer") or "", payment_method["id"], kind,
                          details["last4"], 12, 2199)
    raise PermanentError(f"payment method {payment_method['id']} is a {kind}; auto-charge "
                         "takes cards and US bank accounts", hint="collect a card instead")


def ensure_customer(connection: Connection, organisation_id: int, *, name: str,
                    email: str | None = None) -> str:
    """A Stripe customer for an organisation. The idempotency key is the organisation id, so
    retries within Stripe's key window (24 hours) return the same customer; after that, reuse
    the ``customer_ref`` kept on the organisation's payment profiles instead of calling this."""
    params = {"name": name, "metadata": {"hub_organisation_id": str(organisation_id)}}
    if email:
        params["email"] = email
    try:
        customer = client_for(connection).v1.customers.create(
            params=params, options={"idempotency_key": f"hub-customer-{organisation_id}"})
    except stripe.StripeError as exc:
        raise as_hub_error(exc, f"create the customer for organisation {organisation_id}") from None
    return customer["id"]


def start_setup(connection: Connection, customer_ref: str, organisation_id: int) -> tuple[str, str]:
    """A Setup Intent for saving a card for later off-session charges; returns its id and the
    client secret the hosted page or Stripe Elements needs."""
    try:
        intent = client_for(connection).v1.setup_intents.create(params={
            "customer": customer_ref, "usage": "off_session", "payment_method_types": ["card"],
            "metadata": {"hub_organisation_id": str(organisation_id)}})
    except stripe.StripeError as exc:
        raise as_hub_error(exc, "start collecting a card") from None
    return intent["id"], intent["client_secret"]


def attach_payment_method(connection: Connection, customer_ref: str, payment_method_ref: str,
                          *, make_default: bool = True) -> StoredCard:
    """Attach a payment method by id (e.g. collected elsewhere) and, by default, make it the
    customer's default for invoices at Stripe too."""
    client = client_for(connection)
    try:
        payment_method = client.v1.payment_methods.attach(
            payment_method_ref, params={"customer": customer_ref})
        if make_default:
            client.v1.customers.update(customer_ref, params={
                "invoice_settings": {"default_payment_method": payment_method["id"]}})
    except stripe.StripeError as exc:
        raise as_hub_error(exc, f"attach {payment_method_ref}") from None
    return card_of(payment_method)


def describe_payment_method(connection: Connection, payment_method_ref: str) -> StoredCard:
    """Current card facts of a payment method (after a Setup Intent succeeded)."""
    try:
        payment_method = client_for(connection).v1.payment_methods.retrieve(payment_method_ref)
    except stripe.StripeError as exc:
        raise as_hub_error(exc, f"read {payment_method_ref}") from None
    return card_of(payment_method)
