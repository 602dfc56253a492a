"""``hub_receive_payment``: check a Stripe webhook's signature, then normalise it.

The signature is checked by ``stripe.Webhook.construct_event`` (HMAC-SHA256 over
``"{t}.{body}"`` with the endpoint secret, and the timestamp within the tolerance). Anything
wrong raises :class:`hub.WebhookRejected` (400) *before* anything is parsed or stored: missing
header, wrong secret, stale timestamp, tampered body, a body that is not a Stripe event.

The tolerance is measured by the ``stripe`` library against this machine's real clock (not the
hub's test clock): keep the server's time synchronised (NTP). The library only refuses old
timestamps; a timestamp further in the *future* than the same tolerance is refused here too (a
signature made for later is as suspect as a stale one).
"""

from __future__ import annotations

import json
import time
from typing import Any

import stripe

from hub import Connection, PaymentEvent, PaymentEventKind, WebhookRejected, WebhookRequest

from hub_payments_stripe.events import to_payment_events
from hub_payments_stripe.intents import with_hub_ids

__all__ = ["receive_payment", "verify"]

SIGNATURE_HEADER = "stripe-signature"
_NEEDS_PAYMENT = frozenset({PaymentEventKind.payment_succeeded, PaymentEventKind.payment_failed,
                            PaymentEventKind.payment_processing, PaymentEventKind.refunded,
                            PaymentEventKind.refund_failed,
                            PaymentEventKind.dispute_opened, PaymentEventKind.dispute_closed})


def verify(connection: Connection, request: WebhookRequest) -> dict[str, Any]:
    """The verified event as plain JSON, or :class:`WebhookRejected`."""
    header = next((v for k, v in request.headers.items() if k.lower() == SIGNATURE_HEADER), None)
    if not header:
        raise WebhookRejected(
            f"webhook to connection {connection.name!r} has no Stripe-Signature header; only "
            "Stripe's signed deliveries are accepted", status_code=400)
    settings = connection.settings
    try:
        stripe.Webhook.construct_event(
            request.body, header, settings.webhook_secret.get_secret_value(),
            tolerance=settings.webhook_tolerance_seconds)
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected(
            f"Stripe signature check failed for connection {connection.name!r}: "
            f"{exc.user_message or exc} (check webhook_secret matches the endpoint's signing "
            "secret and the server clock)", status_code=400) from None
    except (ValueError, TypeError, AttributeError) as exc:  # not JSON / not an event object
        raise WebhookRejected(f"webhook body is not a Stripe event: {exc}", status_code=400) from None
    _refuse_future_timestamp(connection, header, settings.webhook_tolerance_seconds)
    event = json.loads(request.body)
    if not (isinstance(event, dict) and isinstance(event.get("id"), str)
            and isinstance(event.get("type"), str) and isinstance(event.get("created"), int)
            and isinstance(event.get("data"), dict) and isinstance(event["data"].get("object"), dict)):
        raise WebhookRejected("webhook body is signed but is not a Stripe event "
                              "(needs id, type, created and data.object)", status_code=400)
    return event


def _refuse_future_timestamp(connection: Connection, header: str, tolerance: int) -> None:
    stamps = [part.split("=", 1)[1] for part in header.split(",")
              if part.strip().startswith("t=")]
    try:
        signed_at = int(stamps[0].strip())
    except (IndexError, ValueError):  # construct_event already refused these; kept for safety
        raise WebhookRejected("Stripe-Signature has no timestamp", status_code=400) from None
    ahead = signed_at - int(time.time())
    if ahead > tolerance:
        raise WebhookRejected(
            f"Stripe signature check failed for connection {connection.name!r}: the timestamp is "
            f"{ahead} s in the future, beyond the {tolerance} s tolerance (check the server "
            "clock)", status_code=400)


def receive_payment(connection: Connection, request: WebhookRequest) -> list[PaymentEvent]:
    """Verify ``request`` and turn its event into :class:`hub.PaymentEvent` records."""
    event = verify(connection, request)
    try:
        events = to_payment_events(event)
    except (KeyError, TypeError, ValueError) as exc:
        raise WebhookRejected(f"Stripe event {event['id']} ({event['type']}) is malformed: "
                              f"{type(exc).__name__}: {exc}", status_code=400) from None
    # Refunds and disputes name only their payment: give the ledger its invoice/organisation.
    return [with_hub_ids(connection, e) if e.kind in _NEEDS_PAYMENT else e for e in events]
