"""Step 2: the sandbox answers the official ``stripe`` library like Stripe does."""

import json

import pytest
import stripe

from hub_payments_stripe.client import client_for
from hub_payments_stripe.sandbox.spec import response_validator


@pytest.fixture
def client(kit):
    return client_for(kit.connection)


def _customer_with_card(client, token="pm_card_visa"):
    customer = client.v1.customers.create(params={"email": "ap@acme.test", "name": "Acme"})
    pm = client.v1.payment_methods.attach(token, params={"customer": customer.id})
    return customer, pm


def _charge(client, customer, pm, amount=5000, key=None, **extra):
    params = {"amount": amount, "currency": "usd", "customer": customer.id,
              "payment_method": pm.id, "confirm": True, "off_session": True, **extra}
    return client.v1.payment_intents.create(params=params,
                                            options={"idempotency_key": key} if key else None)


def test_unknown_parameter_is_refused_like_stripe(client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.create(params={"email": "a@b.test", "colour": "blue"})
    assert info.value.http_status == 400
    assert info.value.code == "parameter_unknown"
    assert info.value.param == "colour"


def test_unknown_nested_parameter_and_bad_enum_are_refused(client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.setup_intents.create(params={"automatic_payment_methods": {"enabled": True,
                                                                               "speed": "fast"}})
    assert info.value.param == "automatic_payment_methods[speed]"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.setup_intents.create(params={"usage": "sometimes"})
    assert info.value.code == "parameter_invalid_string"


def test_missing_required_parameter(client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.create(params={"amount": 100})
    assert info.value.code == "parameter_missing" and info.value.param == "currency"


def test_wrong_api_key_is_401(kit):
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient("sk_test_wrong", base_addresses={"api": kit.connection.settings.api_base},
                            http_client=client_for(kit.connection)._requestor._client
                            ).v1.customers.create(params={})


def test_charge_succeeds_and_objects_match_the_spec(kit, client):
    customer, pm = _customer_with_card(client)
    intent = _charge(client, customer, pm, metadata={"hub_invoice_id": "7"})
    assert intent.status == "succeeded" and intent.amount_received == 5000
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert charge.paid and charge.payment_intent == intent.id
    refund = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1000})
    dispute = kit.sandbox.open_dispute(intent.id)
    si = client.v1.setup_intents.create(params={"customer": customer.id,
                                                "payment_method": "pm_card_mastercard",
                                                "confirm": True, "usage": "off_session"})
    for component, obj in [("customer", customer), ("payment_method", pm),
                           ("payment_intent", intent), ("charge", client.v1.charges.retrieve(charge.id)),
                           ("refund", refund), ("dispute", client.v1.disputes.retrieve(dispute["id"])),
                           ("setup_intent", si)]:
        errors = list(response_validator(component).iter_errors(json.loads(str(obj))))
        assert not errors, (component, [e.message for e in errors[:3]])
    for delivery in kit.sandbox.webhooks.all:
        errors = list(response_validator("event").iter_errors(delivery.event))
        assert not errors, (delivery.type, [e.message for e in errors[:3]])


def test_setup_intent_attaches_card_to_customer(client):
    customer = client.v1.customers.create(params={"name": "Acme"})
    si = client.v1.setup_intents.create(params={"customer": customer.id, "usage": "off_session",
                                                "payment_method_types": ["card"]})
    assert si.status == "requires_payment_method" and si.client_secret.startswith(si.id)
    done = client.v1.setup_intents.confirm(si.id, params={"payment_method": "pm_card_visa"})
    assert done.status == "succeeded"
    listed = client.v1.customers.payment_methods.list(customer.id, params={"type": "card"})
    assert [m.id for m in listed.data] == [done.payment_method]


def test_idempotency_key_replays_without_a_second_charge(kit, client):
    customer, pm = _customer_with_card(client)
    first = _charge(client, customer, pm, key="inv-1-attempt-1")
    again = _charge(client, customer, pm, key="inv-1-attempt-1")
    assert again.id == first.id
    assert len(kit.sandbox.charges()) == 1
    with pytest.raises(stripe.IdempotencyError):
        _charge(client, customer, pm, amount=4999, key="inv-1-attempt-1")
    assert len(kit.sandbox.charges()) == 1


def test_declining_card_is_a_card_error_with_the_intent(client):
    customer, pm = _customer_with_card(client, "pm_card_chargeDeclinedInsufficientFunds")
    with pytest.raises(stripe.CardError) as info:
        _charge(client, customer, pm)
    err = info.value
    assert err.http_status == 402 and err.code == "card_declined"
    assert err.error.decline_code == "insufficient_funds"
    assert err.error.payment_intent["status"] == "requires_payment_method"


def test_authentication_required_off_session_and_on_session(client):
    customer, pm = _customer_with_card(client, "pm_card_authenticationRequired")
    with pytest.raises(stripe.CardError) as info:
        _charge(client, customer, pm)
    assert info.value.code == "authentication_required"
    on_session = client.v1.payment_intents.create(params={
        "amount": 100, "currency": "eur", "customer": customer.id, "payment_method": pm.id,
        "confirm": True})
    assert on_session.status == "requires_action" and on_session.next_action.type == "use_stripe_sdk"


def test_payment_method_of_another_customer_is_refused(client):
    _, pm = _customer_with_card(client)
    other = client.v1.customers.create(params={})
    with pytest.raises(stripe.InvalidRequestError, match="does not belong"):
        _charge(client, other, pm)


def test_refund_cannot_exceed_what_is_left(client):
    customer, pm = _customer_with_card(client)
    intent = _charge(client, customer, pm, amount=1000)
    client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 600})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 500})
    assert info.value.code == "amount_too_large"


def test_lists_page_newest_first(client):
    customer, pm = _customer_with_card(client)
    ids = [_charge(client, customer, pm, amount=100 + i).latest_charge for i in range(7)]
    first = client.v1.charges.list(params={"limit": 3})
    assert first.has_more and len(first.data) == 3
    every = [c.id for c in first.auto_paging_iter()]
    assert sorted(every) == sorted(ids) and len(every) == 7


def test_rate_limit_answers_429():
    from hub_payments_stripe.testing import make_kit

    kit = make_kit(rate_limit=3, rate_clock=lambda: 0.0)  # all within one second
    try:
        client = client_for(kit.connection)
        for _ in range(3):
            client.v1.customers.create(params={})
        with pytest.raises(stripe.RateLimitError) as info:
            client.v1.customers.create(params={})
        assert info.value.http_status == 429
    finally:
        kit.close()


def test_injected_faults(kit, client):
    kit.sandbox.inject(503)
    with pytest.raises(stripe.APIError) as info:
        client.v1.customers.create(params={})
    assert info.value.http_status == 503
    assert client.v1.customers.create(params={}).id.startswith("cus_")


def test_webhooks_are_signed_with_the_endpoint_secret_and_can_be_replayed(kit, client):
    customer, pm = _customer_with_card(client)
    _charge(client, customer, pm)
    deliveries = kit.sandbox.webhooks.take()
    assert [d.type for d in deliveries][-2:] == ["charge.succeeded", "payment_intent.succeeded"]
    assert kit.sandbox.webhooks.take() == []
    for d in deliveries:
        headers = d.headers(kit.sandbox.webhooks.secret)
        event = stripe.Webhook.construct_event(d.body, headers["Stripe-Signature"],
                                               kit.sandbox.webhooks.secret)
        assert event.id == d.event_id
    scrambled = kit.sandbox.webhooks.scramble(deliveries, copies=3, seed=4)
    assert len(scrambled) == 3 * len(deliveries) and scrambled != deliveries * 3
    assert kit.sandbox.webhooks.find(deliveries[0].event_id) == deliveries[0]


def test_webhooks_are_posted_to_a_configured_url(kit, client):
    received = []
    statuses = kit.sandbox.webhooks.send(kit.sandbox.webhooks.all, lambda h, b: received.append(h) or 200)
    assert statuses == [200] * len(received)


def test_every_sandbox_route_is_an_operation_of_spec3():
    from hub_payments_stripe.sandbox.handlers import ROUTES
    from hub_payments_stripe.sandbox.spec import operation

    for method, template, _, _ in ROUTES:
        op = operation(method, template)  # KeyError when Stripe has no such operation
        assert "200" in op.responses


def test_create_then_confirm_then_retrieve(kit, client):
    customer, pm = _customer_with_card(client)
    intent = client.v1.payment_intents.create(params={
        "amount": 700, "currency": "usd", "customer": customer.id, "payment_method": pm.id})
    assert intent.status == "requires_confirmation"
    confirmed = client.v1.payment_intents.confirm(intent.id, params={"off_session": True})
    assert confirmed.status == "succeeded"
    assert client.v1.payment_intents.retrieve(intent.id).amount_received == 700
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.confirm(intent.id)
    assert info.value.code == "payment_intent_unexpected_state"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.retrieve("pi_missing")
    assert info.value.http_status == 404 and info.value.code == "resource_missing"


def test_idempotency_keys_are_kept_24_hours_and_at_most_255_characters():
    from hub_payments_stripe.testing import make_kit

    now = [1_790_000_000]
    kit = make_kit(sandbox_clock=lambda: now[0])
    try:
        client = client_for(kit.connection)
        customer, pm = _customer_with_card(client)
        first = _charge(client, customer, pm, key="k-day")
        now[0] += 23 * 3600
        assert _charge(client, customer, pm, key="k-day").id == first.id
        now[0] += 2 * 3600  # past 24 hours: Stripe has forgotten the key
        assert _charge(client, customer, pm, key="k-day").id != first.id
        assert len(kit.sandbox.charges()) == 2
        with pytest.raises(stripe.InvalidRequestError, match="255"):
            _charge(client, customer, pm, key="k" * 256)
    finally:
        kit.close()


def test_unknown_query_parameter_on_a_list_is_refused(client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.charges.list(params={"colour": "blue"})
    assert info.value.code == "parameter_unknown"


def test_expand_replaces_ids_with_objects(client):
    customer, pm = _customer_with_card(client)
    intent = _charge(client, customer, pm, metadata={"hub_invoice_id": "3"})
    charge = client.v1.charges.retrieve(intent.latest_charge,
                                        params={"expand": ["payment_intent", "customer"]})
    assert charge.payment_intent.id == intent.id and charge.customer.id == customer.id
    assert charge.metadata.to_dict() == {}  # Stripe keeps metadata on the PaymentIntent only
    listed = client.v1.charges.list(params={"expand": ["data.payment_intent"]})
    assert listed.data[0].payment_intent.metadata["hub_invoice_id"] == "3"
