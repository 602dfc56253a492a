"""hub_refund_payment, refund/dispute events for payments the plugin did not make, and
hub_fetch_external_documents for reconciliation."""

import datetime as dt

import pytest

from hub import (
    ChargeRequest, Money, PaymentEventKind as K, RefundRequest, TransientError,
)
from hub_payments_stripe import charges, plugin
from hub_payments_stripe.client import client_for


def _paid(kit, amount="300.00", invoice_id=8, token="pm_card_visa"):
    client = client_for(kit.connection)
    customer = client.v1.customers.create(params={})
    pm = client.v1.payment_methods.attach(token, params={"customer": customer.id})
    return charges.charge_payment_method(kit.connection, ChargeRequest(
        invoice_id=invoice_id, invoice_number=f"I{invoice_id}", organisation_id=4,
        amount=Money(amount, "USD"), customer_ref=customer.id, payment_method_ref=pm.id,
        attempt=1, idempotency_key=f"k{invoice_id}")).object_id


def _refund(kit, intent, amount, key="r1", reason=None):
    return plugin.hub_refund_payment(kit.connection, RefundRequest(
        payment_id=55, payment_object_id=intent, amount=Money(amount, "USD"),
        idempotency_key=key, reason=reason))


def test_partial_then_rest_then_too_much(kit):
    intent = _paid(kit)
    first = _refund(kit, intent, "100.00", reason="requested_by_customer")
    assert first.status == "succeeded" and first.object_id.startswith("re_")
    saved = kit.sandbox.store["refund"][first.object_id]
    assert saved["amount"] == 10000 and saved["reason"] == "requested_by_customer"
    assert saved["metadata"] == {"hub_payment_id": "55"}
    again = _refund(kit, intent, "100.00", key="r1", reason="requested_by_customer")
    assert again.object_id == first.object_id  # the same key and request: replayed
    rest = _refund(kit, intent, "200.00", key="r2", reason="goodwill")
    assert rest.status == "succeeded"
    assert kit.sandbox.store["refund"][rest.object_id]["metadata"]["hub_reason"] == "goodwill"
    too_much = _refund(kit, intent, "0.01", key="r3")
    assert too_much.status == "failed" and "refunded" in too_much.message


def test_refund_by_charge_id(kit):
    intent = _paid(kit)
    charge = kit.sandbox.store["payment_intent"][intent]["latest_charge"]
    outcome = _refund(kit, charge, "300.00")
    assert outcome.status == "succeeded"


def test_refund_transient_failure_raises_for_the_job_to_retry(kit):
    intent = _paid(kit)
    kit.sandbox.inject(503, path_prefix="/v1/refunds")
    with pytest.raises(TransientError):
        _refund(kit, intent, "10.00")
    assert kit.sandbox.store["refund"] == {}


def test_bank_refund_counts_only_once_it_succeeded(kit):
    intent = _paid(kit, token="pm_usBankAccount")
    kit.sandbox.settle(intent)
    kit.sandbox.webhooks.take()
    pending = _refund(kit, intent, "50.00")
    assert pending.status == "pending"
    early = kit.deliver(kit.sandbox.webhooks.take())
    assert {e.kind for e in early} == {K.ignored}
    kit.sandbox.settle_refund(pending.object_id)
    [done] = kit.deliver(kit.sandbox.webhooks.take())
    assert (done.kind, done.object_id, done.amount) == (K.refunded, pending.object_id,
                                                        Money("50.00", "USD"))


def test_dispute_on_a_payment_made_elsewhere_gets_its_hub_ids_from_stripe(kit):
    intent = _paid(kit, invoice_id=31)
    kit.connection.state = type(kit.connection.state)()  # a fresh worker: nothing remembered
    dispute = kit.sandbox.open_dispute(intent)
    [event] = kit.deliver([d for d in kit.sandbox.webhooks.take()
                           if d.type == "charge.dispute.created"])
    assert (event.object_id, event.invoice_id, event.organisation_id) == (dispute["id"], 31, 4)
    looked_up = [r for r in kit.sandbox.requests if r[1] == f"/v1/payment_intents/{intent}"]
    assert len(looked_up) == 1
    kit.sandbox.close_dispute(dispute["id"], won=True)
    kit.deliver(kit.sandbox.webhooks.take())  # remembered now: no second look-up
    assert len([r for r in kit.sandbox.requests if r[1] == f"/v1/payment_intents/{intent}"]) == 1


def test_fetch_external_documents_for_reconciliation(kit):
    paid = [_paid(kit, amount=f"{100 + i}.00", invoice_id=i) for i in range(1, 4)]
    refund = _refund(kit, paid[0], "20.00")
    kit.sandbox.open_dispute(paid[1])
    today = dt.datetime.now(dt.timezone.utc).date()
    found = list(plugin.hub_fetch_external_documents(kit.connection, "charge", today, today))
    assert sorted(d.hub_id for d in found) == [1, 2, 3]
    first = next(d for d in found if d.hub_id == 1)
    assert first.total == Money("101.00", "USD") and first.status == "succeeded"
    assert first.attributes["payment_intent"] == paid[0]
    assert first.attributes["amount_refunded"] == "20.00"
    [ref] = plugin.hub_fetch_external_documents(kit.connection, "refund", None, None)
    assert (ref.external_id, ref.hub_id, ref.total) == (refund.object_id, 55, Money("20.00", "USD"))
    [disp] = plugin.hub_fetch_external_documents(kit.connection, "dispute", None, None)
    assert disp.attributes["payment_intent"] == paid[1] and disp.status == "needs_response"
    tomorrow = today + dt.timedelta(days=1)
    assert list(plugin.hub_fetch_external_documents(kit.connection, "charge", tomorrow, None)) == []
    assert plugin.hub_fetch_external_documents(kit.connection, "invoice", None, None) is None


def test_reconciliation_pages_through_more_than_one_page(kit):
    for i in range(105):
        kit.sandbox.put("charge", {**kit.sandbox.store["charge"].get("x", {}),
                                   **_fake_charge(kit, i)})
    docs = list(plugin.hub_fetch_external_documents(kit.connection, "charge", None, None))
    assert len(docs) == 105 and len({d.external_id for d in docs}) == 105


def _fake_charge(kit, i):
    from hub_payments_stripe.sandbox.objects import build

    return build("charge", id=f"ch_page{i:03d}", created=kit.sandbox.now(), amount=100 + i,
                 amount_refunded=0, currency="jpy", metadata={})


def test_payment_taken_in_the_dashboard_belongs_to_the_customers_organisation(kit):
    from hub_payments_stripe import profiles

    customer = profiles.ensure_customer(kit.connection, 17, name="Acme")
    card = profiles.attach_payment_method(kit.connection, customer, "pm_card_visa")
    intent = client_for(kit.connection).v1.payment_intents.create(params={
        "amount": 990, "currency": "gbp", "customer": customer,
        "payment_method": card.payment_method_ref, "confirm": True})  # no hub metadata
    kit.connection.state = type(kit.connection.state)()
    [event] = kit.deliver([d for d in kit.sandbox.webhooks.take()
                           if d.type == "payment_intent.succeeded"])
    assert (event.object_id, event.invoice_id, event.organisation_id) == (intent.id, None, 17)
    assert event.amount == Money("9.90", "GBP")
    kit.sandbox.open_dispute(intent.id)
    [dispute] = kit.deliver([d for d in kit.sandbox.webhooks.take()
                             if d.type == "charge.dispute.created"])
    assert dispute.organisation_id == 17
