"""Stripe events -> :class:`hub.PaymentEvent`: what the ledger needs, nothing it must guess.

- ``object_id`` is what the ledger keys its effect by: the **PaymentIntent** for payments (so
  processing, failure and success of one intent are one ledger payment), the **refund** id for
  refunds, the **dispute** id for disputes, the payment method for card changes.
- ``payment_object_id`` ties a refund or dispute to its PaymentIntent.
- A refund counts (``refunded``) once it has *succeeded*; a ``pending`` snapshot comes through
  as ``ignored`` with its status, so the ledger never gives back money that did not leave. A
  ``failed`` or ``canceled`` one is ``refund_failed`` (``message``: Stripe's failure reason):
  the hub stops counting the request as on its way, and reinstates the payment if the refund
  had succeeded before (a refund can fail days later, e.g. on a closed card).
- ``charge.refunded`` lists the charge's refunds; each becomes its own event with event id
  ``"{event id}:{refund id}"`` so an inbox keyed by event id keeps every one.
- Amounts are exact :class:`hub.Money` from Stripe's integer minor units (zero-decimal aware),
  always positive: the kind says which way the money went.
- Card events (``payment_method_updated`` / ``_expiring``): ``object_id`` is the payment method,
  ``status`` its expiry ``"MM/YYYY"``, ``message`` a readable line ("visa ending 4242, expires
  03/2031"); the card itself is in ``raw["data"]["object"]``.
- ``raw`` is the whole event as Stripe sent it, for the inbox and for audits.
- Anything else is ``ignored`` (still stored once by event id, so it is never asked for again).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub import Money, PaymentEvent, PaymentEventKind

from hub_payments_stripe.amounts import from_minor_units

__all__ = ["to_payment_events", "PAYMENT_KINDS"]

PAYMENT_KINDS = {
    "payment_intent.succeeded": PaymentEventKind.payment_succeeded,
    "payment_intent.payment_failed": PaymentEventKind.payment_failed,
    "payment_intent.processing": PaymentEventKind.payment_processing,
}
REFUND_TYPES = frozenset({"refund.created", "refund.updated", "refund.failed",
                          "charge.refund.updated"})
DISPUTE_KINDS = {
    "charge.dispute.created": PaymentEventKind.dispute_opened,
    "charge.dispute.closed": PaymentEventKind.dispute_closed,
}
CARD_KINDS = {
    "payment_method.updated": PaymentEventKind.payment_method_updated,
    "payment_method.automatically_updated": PaymentEventKind.payment_method_updated,
    "customer.source.expiring": PaymentEventKind.payment_method_expiring,
}


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _money(obj: dict[str, Any], field: str = "amount") -> Money | None:
    if obj.get(field) is None or not obj.get("currency"):
        return None
    return from_minor_units(obj[field], obj["currency"])


def to_payment_events(event: dict[str, Any]) -> list[PaymentEvent]:
    """The normalised events for one verified Stripe event (usually one; ``charge.refunded``
    gives one per refund it lists)."""
    kind_name = event["type"]
    obj = event["data"]["object"]
    base = {"event_id": event["id"], "raw": event,
            "occurred_at": dt.datetime.fromtimestamp(int(event["created"]), dt.timezone.utc)}
    meta = obj.get("metadata") or {}
    hub_ids = {"invoice_id": _int(meta.get("hub_invoice_id")),
               "organisation_id": _int(meta.get("hub_organisation_id"))}

    if kind_name in PAYMENT_KINDS:
        kind = PAYMENT_KINDS[kind_name]
        field = "amount_received" if kind is PaymentEventKind.payment_succeeded else "amount"
        error = obj.get("last_payment_error") or {}
        return [PaymentEvent(**base, **hub_ids, kind=kind, object_id=obj["id"],
                             payment_object_id=obj["id"], amount=_money(obj, field),
                             status=obj.get("status"), message=error.get("message"))]
    if kind_name in REFUND_TYPES:
        return [_refund(base, obj)]
    if kind_name == "charge.refunded":
        refunds = (obj.get("refunds") or {}).get("data") or []
        if refunds:
            # One inbox row per refund: the host stores events once by event_id.
            return [_refund({**base, "event_id": f"{event['id']}:{r['id']}"},
                            {**r, "payment_intent": r.get("payment_intent")
                             or obj.get("payment_intent")}) for r in refunds]
        # Newer API versions omit the list: refund.created carries each refund instead.
        return [PaymentEvent(**base, **hub_ids, kind=PaymentEventKind.ignored, object_id=obj["id"],
                             payment_object_id=obj.get("payment_intent"),
                             message="charge.refunded without refunds; refund.* events carry them")]
    if kind_name in DISPUTE_KINDS:
        return [PaymentEvent(**base, kind=DISPUTE_KINDS[kind_name], object_id=obj["id"],
                             payment_object_id=obj.get("payment_intent") or obj.get("charge"),
                             amount=_money(obj), status=obj.get("status"),
                             message=obj.get("reason"))]
    if kind_name in CARD_KINDS:
        card = obj.get("card") if obj.get("object") == "payment_method" else obj
        expiry = (f"{int(card['exp_month']):02d}/{card['exp_year']}"
                  if card and card.get("exp_month") and card.get("exp_year") else None)
        label = f"{card.get('brand', 'card')} ending {card.get('last4')}" if card else "card"
        return [PaymentEvent(**base, kind=CARD_KINDS[kind_name], object_id=obj["id"],
                             status=expiry, message=f"{label}, expires {expiry}")]
    return [PaymentEvent(**base, kind=PaymentEventKind.ignored, object_id=obj.get("id") or event["id"])]


def _refund(base: dict[str, Any], refund: dict[str, Any]) -> PaymentEvent:
    meta = refund.get("metadata") or {}
    # Only a succeeded refund moved money back; a pending one may still succeed or fail (its
    # later refund.updated carries which), and a failed or canceled one never did, or took
    # the money back (see the module docstring).
    status = refund.get("status")
    kind = (PaymentEventKind.refunded if status == "succeeded"
            else PaymentEventKind.refund_failed if status in ("failed", "canceled")
            else PaymentEventKind.ignored)
    return PaymentEvent(**base, kind=kind, object_id=refund["id"],
                        payment_object_id=refund.get("payment_intent") or refund.get("charge"),
                        amount=_money(refund), status=refund.get("status"),
                        invoice_id=_int(meta.get("hub_invoice_id")),
                        message=(refund.get("failure_reason") or status
                                 if kind is PaymentEventKind.refund_failed
                                 else refund.get("reason")))
