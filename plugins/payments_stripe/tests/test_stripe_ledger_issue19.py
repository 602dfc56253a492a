"""Issue #19 (Stripe bullets) through the hub's webhook route, inbox and ``process_inbox_event``
job with the real ledger: money for an invoice deleted meanwhile becomes account credit (no
RecursionError); events that can never succeed fail at once with their reason; a renewed card
updates the stored profile; signature timestamps far in the future are refused."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hub import ChargeRequest, Money
from hub.db.models import Invoice, InvoiceLine, Organisation, Payment, PaymentProfile
from hub.db.models.inbox import InboxEvent, InboxStatus
from hub.jobs import JobSettings, build_runtime
from hub.ledger import delete_completely, post_invoice
from hub.ledger.payment_profiles import CardDetails, attach_profile
from hub.web.app import create_app as create_hub_app
from hub_payments_stripe import plugin, profiles
from hub_payments_stripe.sandbox import StripeSandbox


@pytest.fixture
def stack(make_hub_context):
    sandbox = StripeSandbox()
    from hub.testing.sandbox import SandboxServer
    from hub_payments_stripe.sandbox import create_app

    with SandboxServer(create_app(sandbox)) as stripe_server:
        ctx = make_hub_context(plugin, connections=[{
            "name": "stripe", "plugin": "stripe",
            "settings": {"api_key": sandbox.api_key, "webhook_secret": sandbox.webhooks.secret,
                         "api_base": stripe_server.url}}])
        runtime = build_runtime(ctx, broker=StubBroker(), settings=JobSettings(
            min_backoff_seconds=0.01, max_backoff_seconds=0.05, dispatch_lease_seconds=5))
        runtime.start_worker(2)
        try:
            yield sandbox, ctx, runtime, TestClient(create_hub_app(ctx, runtime))
        finally:
            runtime.close()


def _invoice(ctx, total="42.00", currency="USD") -> tuple[int, int]:
    with Session(ctx.engine, expire_on_commit=False) as s:
        org = Organisation(name="Acme", currency=currency)
        s.add(org)
        s.flush()
        inv = Invoice(organisation_id=org.id, number="INV-S1", currency=currency,
                      issue_date=dt.date(2026, 3, 1), due_date=dt.date(2026, 3, 15),
                      subtotal=Decimal(total), total=Decimal(total))
        s.add(inv)
        s.flush()
        s.add(InvoiceLine(invoice_id=inv.id, description="support", unit_price=Decimal(total),
                          amount=Decimal(total)))
        post_invoice(s, inv)
        s.commit()
        return org.id, inv.id


def _charge(sandbox, ctx, org_id, invoice_id, amount: Money):
    connection = ctx.connection("stripe")
    customer = profiles.ensure_customer(connection, org_id, name="Acme")
    card = profiles.attach_payment_method(connection, customer, "pm_card_visa")
    ctx.plugins.hook.hub_charge_payment_method(connection=connection, charge=ChargeRequest(
        invoice_id=invoice_id, invoice_number="INV-S1", organisation_id=org_id, amount=amount,
        customer_ref=customer, payment_method_ref=card.payment_method_ref, attempt=1,
        idempotency_key=f"hub-invoice-{invoice_id}-attempt-1"))
    return customer, card


def _post(client, sandbox, delivery, timestamp=None):
    return client.post("/webhooks/stripe", content=delivery.body,
                       headers=delivery.headers(sandbox.webhooks.secret, timestamp=timestamp))


def _settled(ctx, runtime, event_id_prefix: str) -> InboxEvent:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with Session(ctx.engine) as s:
            row = s.exec(select(InboxEvent).where(
                InboxEvent.event_id.startswith(event_id_prefix))).first()
            if row is not None and row.status != InboxStatus.pending:
                return row
        time.sleep(0.05)
    raise AssertionError(f"inbox event {event_id_prefix} still pending")


def _succeeded(sandbox):
    return next(d for d in sandbox.webhooks.all if d.type == "payment_intent.succeeded")


def test_payment_for_a_deleted_invoice_becomes_account_credit_with_a_finding(stack):
    sandbox, ctx, runtime, client = stack
    org_id, invoice_id = _invoice(ctx)
    _charge(sandbox, ctx, org_id, invoice_id, Money("42.00", "USD"))
    with Session(ctx.engine) as s:  # deleted completely while the charge was under way
        delete_completely(s, invoice_id, today=dt.date(2026, 3, 2))
        s.commit()
    delivery = _succeeded(sandbox)
    assert _post(client, sandbox, delivery).status_code == 200
    row = _settled(ctx, runtime, delivery.event_id)
    assert row.status == InboxStatus.processed, row.error
    with Session(ctx.engine) as s:
        [payment] = s.exec(select(Payment)).all()
        assert payment.amount == Decimal("42.00") and payment.invoice_id is None
        assert f"invoice {invoice_id} no longer exists" in payment.note
        assert "account credit" in payment.note
    from hub.ledger import account_summary

    with Session(ctx.engine) as s:
        assert account_summary(s, org_id)["credit"] == Decimal("42.00")


def test_event_in_another_currency_fails_at_once_with_its_reason(stack):
    sandbox, ctx, runtime, client = stack
    org_id, invoice_id = _invoice(ctx)
    _charge(sandbox, ctx, org_id, invoice_id, Money("42.00", "EUR"))  # account is in USD
    delivery = _succeeded(sandbox)
    assert _post(client, sandbox, delivery).status_code == 200
    row = _settled(ctx, runtime, delivery.event_id)
    assert row.status == InboxStatus.failed and row.attempts == 1
    assert "EUR" in row.error and "USD" in row.error
    with Session(ctx.engine) as s:
        assert s.exec(select(Payment)).all() == []


def test_renewed_card_updates_the_stored_profile_through_the_webhook(stack):
    sandbox, ctx, runtime, client = stack
    org_id, invoice_id = _invoice(ctx)
    connection = ctx.connection("stripe")
    customer = profiles.ensure_customer(connection, org_id, name="Acme")
    card = profiles.attach_payment_method(connection, customer, "pm_card_visa")
    with Session(ctx.engine) as s:
        attach_profile(s, organisation_id=org_id, connection="stripe", customer_ref=customer,
                       payment_method_ref=card.payment_method_ref,
                       card=CardDetails(card.brand, card.last4, 12, 2026))
        s.commit()
    sandbox.webhooks.take()
    sandbox.renew_card(card.payment_method_ref, exp_month=11, exp_year=2031)
    [delivery] = [d for d in sandbox.webhooks.take()
                  if d.type == "payment_method.automatically_updated"]
    assert _post(client, sandbox, delivery).status_code == 200
    row = _settled(ctx, runtime, delivery.event_id)
    assert row.status == InboxStatus.processed, row.error
    with Session(ctx.engine) as s:
        [profile] = s.exec(select(PaymentProfile)).all()
        assert (profile.exp_month, profile.exp_year) == (11, 2031)


def test_signature_timestamp_far_in_the_future_is_refused(stack):
    sandbox, ctx, runtime, client = stack
    org_id, invoice_id = _invoice(ctx)
    _charge(sandbox, ctx, org_id, invoice_id, Money("42.00", "USD"))
    delivery = _succeeded(sandbox)
    answer = _post(client, sandbox, delivery, timestamp=int(time.time()) + 3600)
    assert answer.status_code == 400 and "future" in answer.text
    with Session(ctx.engine) as s:
        assert s.exec(select(InboxEvent)).all() == []
    # within the tolerance (clock skew of a minute) it is still accepted
    assert _post(client, sandbox, delivery, timestamp=int(time.time()) + 60).status_code == 200
