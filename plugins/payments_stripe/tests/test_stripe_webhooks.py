"""Step 3: hub_receive_payment verifies with the stripe library and normalises each event."""

import time
from decimal import Decimal

import pytest

from hub import ChargeRequest, Money, PaymentEventKind as K, WebhookRejected
from hub_payments_stripe import charges, plugin
from hub_payments_stripe.client import client_for
from hub_payments_stripe.sandbox.delivery import Delivery


def _paid_invoice(kit, *, token="pm_card_visa", amount=Money("250.00", "USD"), invoice_id=5):
    client = client_for(kit.connection)
    customer = client.v1.customers.create(params={"name": "Acme"})
    pm = client.v1.payment_methods.attach(token, params={"customer": customer.id})
    outcome = charges.charge_payment_method(kit.connection, ChargeRequest(
        invoice_id=invoice_id, invoice_number=f"INV-{invoice_id}", organisation_id=3,
        amount=amount, customer_ref=customer.id, payment_method_ref=pm.id, attempt=1,
        idempotency_key=f"inv-{invoice_id}-1"))
    return outcome.object_id, pm.id


def _last(kit, type_):
    return [d for d in kit.sandbox.webhooks.all if d.type == type_][-1]


# ----------------------------------------------------------------------------- signatures
def test_signed_by_the_stripe_library_is_accepted(kit):
    intent, _ = _paid_invoice(kit)
    events = plugin.hub_receive_payment(kit.connection,
                                        kit.request(_last(kit, "payment_intent.succeeded")))
    assert [(e.kind, e.object_id) for e in events] == [(K.payment_succeeded, intent)]


def test_other_connections_fall_through(kit):
    from dataclasses import replace

    _paid_invoice(kit)
    other = replace(kit.connection, plugin="xero")
    assert plugin.hub_receive_payment(other, kit.request(kit.sandbox.webhooks.all[0])) is None


@pytest.mark.parametrize("case", ["missing header", "wrong secret", "stale timestamp",
                                  "tampered body", "garbage header"])
def test_bad_deliveries_are_rejected_with_400(kit, case):
    _paid_invoice(kit)
    delivery = _last(kit, "payment_intent.succeeded")
    if case == "missing header":
        request = kit.request(delivery, headers={"Content-Type": "application/json"})
    elif case == "wrong secret":
        request = kit.request(delivery, secret="whsec_someone_else")
    elif case == "stale timestamp":
        request = kit.request(delivery, timestamp=int(time.time()) - 301)
    elif case == "tampered body":
        request = kit.request(delivery, body=delivery.body.replace(b'"amount": 25000',
                                                                   b'"amount": 2500000'))
        assert request.body != delivery.body
    else:
        request = kit.request(delivery, headers={"Stripe-Signature": "nonsense"})
    with pytest.raises(WebhookRejected) as info:
        plugin.hub_receive_payment(kit.connection, request)
    assert info.value.status_code == 400


def test_tolerance_comes_from_settings(kit):
    _paid_invoice(kit)
    delivery = _last(kit, "payment_intent.succeeded")
    old = int(time.time()) - 200
    assert plugin.hub_receive_payment(kit.connection, kit.request(delivery, timestamp=old))
    strict = kit.connection.settings.model_copy(update={"webhook_tolerance_seconds": 100})
    kit.connection.settings = strict
    with pytest.raises(WebhookRejected, match="tolerance"):
        plugin.hub_receive_payment(kit.connection, kit.request(delivery, timestamp=old))


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"id": "evt_1"}',
                                  b'{"id": "evt_1", "type": "x", "created": 1, "data": []}'])
def test_signed_but_malformed_bodies_are_rejected(kit, body):
    with pytest.raises(WebhookRejected) as info:
        plugin.hub_receive_payment(kit.connection, kit.request(Delivery("evt_x", "x", body)))
    assert info.value.status_code == 400


def test_body_that_is_not_utf8_is_rejected(kit):
    signed_for_other = kit.request(Delivery("evt_x", "x", b"{}"), body=b"\xff\xfe{}")
    with pytest.raises(WebhookRejected):
        plugin.hub_receive_payment(kit.connection, signed_for_other)


# ----------------------------------------------------------------------------- mapping
def test_payment_events_carry_intent_invoice_and_exact_amount(kit):
    intent, _ = _paid_invoice(kit, amount=Money("1234.56", "EUR"), invoice_id=77)
    [event] = kit.deliver([_last(kit, "payment_intent.succeeded")])
    assert event.kind is K.payment_succeeded and event.object_id == intent
    assert event.invoice_id == 77 and event.organisation_id == 3
    assert event.amount == Money("1234.56", "EUR") and event.amount.amount == Decimal("1234.56")
    assert event.event_id == _last(kit, "payment_intent.succeeded").event_id
    assert event.raw["type"] == "payment_intent.succeeded"


def test_zero_decimal_currency_from_webhook(kit):
    _paid_invoice(kit, amount=Money("50000", "JPY"))
    [event] = kit.deliver([_last(kit, "payment_intent.succeeded")])
    assert event.amount == Money("50000", "JPY")


def test_processing_then_succeeded_and_failed(kit):
    intent, _ = _paid_invoice(kit, token="pm_usBankAccount")
    [processing] = kit.deliver([_last(kit, "payment_intent.processing")])
    assert processing.kind is K.payment_processing and processing.object_id == intent
    kit.sandbox.settle(intent, succeed=False)
    [failed] = kit.deliver([_last(kit, "payment_intent.payment_failed")])
    assert failed.kind is K.payment_failed and "closed" in failed.message


def test_declined_charge_event_has_decline_message(kit):
    _paid_invoice(kit, token="pm_card_chargeDeclined")
    [failed] = kit.deliver([_last(kit, "payment_intent.payment_failed")])
    assert failed.kind is K.payment_failed and failed.message == "Your card was declined."


def test_refund_events_key_by_refund_and_point_at_the_intent(kit):
    intent, _ = _paid_invoice(kit)
    refund = client_for(kit.connection).v1.refunds.create(
        params={"payment_intent": intent, "amount": 5000})
    created = kit.deliver([_last(kit, "refund.created")])
    refunded = kit.deliver([_last(kit, "charge.refunded")])
    for [event] in (created, refunded):
        assert event.kind is K.refunded and event.object_id == refund.id
        assert event.payment_object_id == intent and event.amount == Money("50.00", "USD")
        assert event.status == "succeeded"


def test_dispute_opened_and_closed(kit):
    intent, _ = _paid_invoice(kit)
    dispute = kit.sandbox.open_dispute(intent)
    kit.sandbox.close_dispute(dispute["id"], won=False)
    opened = kit.deliver([_last(kit, "charge.dispute.created")])[0]
    closed = kit.deliver([_last(kit, "charge.dispute.closed")])[0]
    assert (opened.kind, opened.object_id, opened.payment_object_id) == (
        K.dispute_opened, dispute["id"], intent)
    assert opened.amount == Money("250.00", "USD") and opened.status == "needs_response"
    assert (closed.kind, closed.status) == (K.dispute_closed, "lost")
    [withdrawn] = kit.deliver([_last(kit, "charge.dispute.funds_withdrawn")])
    assert withdrawn.kind is K.ignored


def test_card_updates_and_expiry_notices(kit):
    _, pm = _paid_invoice(kit)
    kit.sandbox.renew_card(pm, exp_month=3, exp_year=2031)
    kit.sandbox.card_expiring(pm)
    [updated] = kit.deliver([_last(kit, "payment_method.automatically_updated")])
    [expiring] = kit.deliver([_last(kit, "customer.source.expiring")])
    assert (updated.kind, updated.object_id, updated.status) == (K.payment_method_updated, pm, "03/2031")
    assert (expiring.kind, expiring.object_id) == (K.payment_method_expiring, pm)


def test_anything_else_is_ignored(kit):
    _paid_invoice(kit)
    events = kit.deliver([_last(kit, "customer.created"), _last(kit, "charge.succeeded")])
    assert {e.kind for e in events} == {K.ignored}
