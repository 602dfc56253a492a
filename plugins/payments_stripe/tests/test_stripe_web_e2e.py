"""Done when #1 end to end over real HTTP: the sandbox and the hub's web app each on a local
port, the ``stripe`` library's own transport, the sandbox POSTing signed webhooks to
``/webhooks/{connection}``. Good deliveries are stored once each in the inbox; wrong secret,
stale timestamp, tampered body and missing header get a 4xx and store nothing."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlmodel import Session, select

from hub import ChargeRequest, ChargeStatus, Money
from hub.db.models.inbox import InboxEvent
from hub.testing.sandbox import SandboxServer
from hub.web.app import create_app as create_hub_app
from hub_payments_stripe import plugin, profiles
from hub_payments_stripe.sandbox import StripeSandbox, create_app


@pytest.fixture
def stack(make_hub_context):
    sandbox = StripeSandbox()
    with SandboxServer(create_app(sandbox)) as stripe_server:
        ctx = make_hub_context(plugin, connections=[{
            "name": "stripe", "plugin": "stripe",
            "settings": {"api_key": sandbox.api_key, "webhook_secret": sandbox.webhooks.secret,
                         "api_base": stripe_server.url}}])
        with SandboxServer(create_hub_app(ctx)) as hub_server:
            sandbox.webhooks.url = f"{hub_server.url}/webhooks/stripe"
            yield sandbox, ctx, hub_server


def _inbox(ctx) -> list[InboxEvent]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(InboxEvent)))


def test_signed_webhooks_in_rejected_ones_store_nothing(stack):
    sandbox, ctx, hub_server = stack
    connection = ctx.connection("stripe")
    customer = profiles.ensure_customer(connection, 1, name="Acme")
    card = profiles.attach_payment_method(connection, customer, "pm_card_visa")
    outcome = ctx.plugins.hook.hub_charge_payment_method(connection=connection, charge=ChargeRequest(
        invoice_id=1, invoice_number="INV1", organisation_id=1, amount=Money("42.00", "EUR"),
        customer_ref=customer, payment_method_ref=card.payment_method_ref, attempt=1,
        idempotency_key="hub-invoice-1-attempt-1"))
    assert outcome.status is ChargeStatus.succeeded

    posted = sandbox.webhooks.join()
    assert posted and all(status == 200 for _, status in posted), posted
    stored = _inbox(ctx)
    assert {row.event_id for row in stored} == {event_id for event_id, _ in posted}
    paid = next(r for r in stored if r.kind == "payment_succeeded")
    assert paid.payload["object_id"] == outcome.object_id and paid.payload["invoice_id"] == 1

    # a replayed delivery is answered 200 and stores nothing new
    delivery = next(d for d in sandbox.webhooks.all if d.type == "payment_intent.succeeded")
    url = f"{hub_server.url}/webhooks/stripe"
    assert sandbox.webhooks.send([delivery], url) == [200]
    assert len(_inbox(ctx)) == len(stored)

    fresh = next(d for d in sandbox.webhooks.all if d.type == "charge.succeeded")
    with Session(ctx.engine) as s:  # make it unseen again, to prove rejections store nothing
        s.delete(s.exec(select(InboxEvent).where(InboxEvent.event_id == fresh.event_id)).one())
        s.commit()
    before = len(_inbox(ctx))
    good = fresh.headers(sandbox.webhooks.secret)
    cases = {
        "wrong secret": (fresh.headers("whsec_wrong"), fresh.body),
        "stale timestamp": (fresh.headers(sandbox.webhooks.secret,
                                          timestamp=int(time.time()) - 600), fresh.body),
        "tampered body": (good, fresh.body.replace(b'"livemode": false', b'"livemode": true')),
        "missing header": ({"Content-Type": "application/json"}, fresh.body),
    }
    with httpx.Client(timeout=10) as client:
        for case, (headers, body) in cases.items():
            answer = client.post(url, content=body, headers=headers)
            assert 400 <= answer.status_code < 500, (case, answer.status_code, answer.text)
        assert len(_inbox(ctx)) == before  # nothing stored
        assert client.post(url, content=fresh.body, headers=good).status_code == 200
    assert len(_inbox(ctx)) == before + 1
