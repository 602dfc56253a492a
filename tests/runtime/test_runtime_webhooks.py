"""Webhook inbox: bad requests get a 4xx and store nothing; one event delivered five times is
stored and applied once."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import func, select

from hub import ConnectionType, PaymentEvent, PaymentEventKind, WebhookRejected, hookimpl, owns
from hub.db.engine import session_scope
from hub.db.models import InboxEvent, InboxStatus
from hub.jobs import JobSettings, build_runtime
from hub.jobs.adapters import Services
from hub.web.app import create_app

SECRET = "whsec_test"


class HmacSettings(BaseModel):
    secret: str


class HmacPayments:
    """A throwaway payments plugin: HMAC-SHA256 of the body in ``X-Signature``."""

    @hookimpl
    def hub_register_connection_types(self, register):
        register(ConnectionType("hmac_payments", HmacSettings, frozenset({"payments"})))

    @hookimpl
    def hub_receive_payment(self, connection, request):
        if not owns(connection, "hmac_payments"):
            return None
        given = request.headers.get("x-signature")
        if not given:
            raise WebhookRejected("missing X-Signature header", status_code=401)
        expected = hmac.new(connection.settings.secret.encode(), request.body,
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given, expected):
            raise WebhookRejected("signature does not match", status_code=401)
        try:
            data = json.loads(request.body)
            return [PaymentEvent(event_id=data["id"], kind=PaymentEventKind.payment_succeeded,
                                 object_id=data["charge"], occurred_at=request.received_at)]
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected(f"malformed event: {exc}", status_code=400) from None


def sign(body: bytes) -> str:
    return hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def hub_web(make_hub_context):
    applied: list[tuple[str, str]] = []
    lock = threading.Lock()

    def apply_payment_event(ctx, connection, event, on_applied):
        time.sleep(0.01)  # give duplicates a chance to overlap
        with session_scope(ctx.engine) as session:
            on_applied(session)
        with lock:
            applied.append((connection, event.event_id))

    ctx = make_hub_context(HmacPayments(), connections=[
        {"name": "cards", "plugin": "hmac_payments", "settings": {"secret": SECRET}}],
        web={"max_webhook_bytes": 2048})
    runtime = build_runtime(ctx, broker=StubBroker(), services=Services(
        apply_payment_event=apply_payment_event),
        settings=JobSettings(min_backoff_seconds=0.01, dispatch_lease_seconds=5))
    runtime.start_worker(4)
    client = TestClient(create_app(ctx, runtime))
    yield ctx, runtime, client, applied
    runtime.close()


def inbox_count(ctx) -> int:
    with session_scope(ctx.engine) as session:
        return session.execute(select(func.count()).select_from(InboxEvent)).scalar()


@pytest.mark.parametrize("headers, body, status", [
    ({}, b'{"id": "evt_1", "charge": "ch_1"}', 401),
    ({"X-Signature": "0" * 64}, b'{"id": "evt_1", "charge": "ch_1"}', 401),
    ({"X-Signature": sign(b'{"id": "evt_1"')}, b'{"id": "evt_1"', 400),
    ({"X-Signature": sign(b'{"charge": "ch_1"}')}, b'{"charge": "ch_1"}', 400),
    ({}, b"x" * 5000, 413),
], ids=["no-signature", "wrong-signature", "malformed-json", "missing-id", "too-large"])
def test_bad_webhooks_get_4xx_and_store_nothing(hub_web, headers, body, status):
    ctx, runtime, client, applied = hub_web
    response = client.post("/webhooks/cards", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert inbox_count(ctx) == 0
    assert applied == []


def test_oversized_body_without_content_length_is_refused(hub_web):
    ctx, runtime, client, applied = hub_web

    def chunks():
        for _ in range(10):
            yield b"y" * 500

    response = client.post("/webhooks/cards", content=chunks())
    assert response.status_code == 413
    assert inbox_count(ctx) == 0


def test_unknown_connection_is_404(hub_web):
    ctx, runtime, client, applied = hub_web
    body = b'{"id": "evt_1", "charge": "ch_1"}'
    response = client.post("/webhooks/nope", content=body, headers={"X-Signature": sign(body)})
    assert response.status_code == 404
    assert inbox_count(ctx) == 0


def test_same_event_five_times_is_processed_once(hub_web):
    ctx, runtime, client, applied = hub_web
    body = json.dumps({"id": "evt_42", "charge": "ch_42"}).encode()
    answers = [client.post("/webhooks/cards", content=body, headers={"X-Signature": sign(body)})
               for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json()["new"] for a in answers] == [1, 0, 0, 0, 0]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not applied:
        time.sleep(0.02)
    runtime.worker.join()
    assert applied == [("cards", "evt_42")]
    with session_scope(ctx.engine) as session:
        rows = session.execute(select(InboxEvent)).scalars().all()
        assert [(r.event_id, r.status) for r in rows] == [("evt_42", InboxStatus.processed)]
    # A lost message is re-sent by the dispatcher, and the applied event stays applied once.
    from hub.jobs.dispatcher import Dispatcher

    runtime.send("process_inbox_event", rows[0].id)
    Dispatcher(runtime).dispatch_once(now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
    runtime.worker.join()
    assert applied == [("cards", "evt_42")]


def test_concurrent_duplicate_deliveries_store_one_row(hub_web):
    ctx, runtime, client, applied = hub_web
    body = json.dumps({"id": "evt_7", "charge": "ch_7"}).encode()
    results = []

    def deliver():
        results.append(client.post("/webhooks/cards", content=body,
                                   headers={"X-Signature": sign(body)}).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 5
    assert inbox_count(ctx) == 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not applied:
        time.sleep(0.02)
    runtime.worker.join()
    assert applied == [("cards", "evt_7")]


class LedgerPayments(HmacPayments):
    """As above, but the event pays an invoice (``invoice_id`` and ``amount`` in the body)."""

    @hookimpl
    def hub_receive_payment(self, connection, request):
        if not owns(connection, "hmac_payments"):
            return None
        expected = hmac.new(connection.settings.secret.encode(), request.body,
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("x-signature", ""), expected):
            raise WebhookRejected("signature does not match", status_code=401)
        from hub import Money

        data = json.loads(request.body)
        return [PaymentEvent(event_id=data["id"], kind=PaymentEventKind.payment_succeeded,
                             object_id=data["charge"], occurred_at=request.received_at,
                             invoice_id=data["invoice_id"], amount=Money(data["amount"], "USD"))]


def test_five_deliveries_make_one_ledger_payment(make_hub_context):
    """End to end through the real ledger (hub.ledger.apply_payment_event)."""
    from decimal import Decimal

    from hub.db.models import Invoice, InvoiceStatus, Organisation
    from hub.db.models.ledger import Payment
    from hub.ledger import post_invoice

    ctx = make_hub_context(LedgerPayments(), connections=[
        {"name": "cards", "plugin": "hmac_payments", "settings": {"secret": SECRET}}])
    with session_scope(ctx.engine) as session:
        org = Organisation(name="Acme")
        session.add(org)
        session.flush()
        invoice = Invoice(organisation_id=org.id, status=InvoiceStatus.unpaid, number="2026010001",
                          issue_date=dt.date(2026, 11, 1), due_date=dt.date(2026, 11, 15),
                          subtotal=Decimal("125.00"), total=Decimal("125.00"))
        session.add(invoice)
        session.flush()
        post_invoice(session, invoice, today=dt.date(2026, 11, 1))
        invoice_id = invoice.id
    runtime = build_runtime(ctx, broker=StubBroker(),
                            settings=JobSettings(min_backoff_seconds=0.01, max_attempts=3))
    runtime.start_worker(4)
    client = TestClient(create_app(ctx, runtime))
    body = json.dumps({"id": "evt_pay", "charge": "ch_pay", "invoice_id": invoice_id,
                       "amount": "125.00"}).encode()
    try:
        answers = [client.post("/webhooks/cards", content=body,
                               headers={"X-Signature": sign(body)}).status_code for _ in range(5)]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with session_scope(ctx.engine) as session:
                status = session.execute(select(InboxEvent.status)).scalar_one()
            if status != InboxStatus.pending:
                break
            time.sleep(0.05)
        runtime.worker.join()
    finally:
        runtime.close()
    assert answers == [200] * 5
    assert status == InboxStatus.processed
    with session_scope(ctx.engine) as session:
        payments = session.execute(select(Payment)).scalars().all()
        assert [(p.processor_object_id, p.amount) for p in payments] == [("ch_pay", Decimal("125.00"))]
        assert session.get(Invoice, invoice_id).status == InvoiceStatus.paid


def test_serve_alone_on_the_embedded_broker_leaves_events_for_a_worker(make_hub_context):
    """``hub serve`` without worker threads stores the event; a worker's dispatcher takes it."""
    from hub.jobs.dispatcher import INBOX_PICKUP_SECONDS, Dispatcher

    applied = []

    def apply_payment_event(ctx, connection, event, on_applied):
        with session_scope(ctx.engine) as session:
            on_applied(session)
        applied.append(event.event_id)

    ctx = make_hub_context(HmacPayments(), connections=[
        {"name": "cards", "plugin": "hmac_payments", "settings": {"secret": SECRET}}])
    serve_only = build_runtime(ctx, broker=StubBroker())
    body = json.dumps({"id": "evt_9", "charge": "ch_9"}).encode()
    client = TestClient(create_app(ctx, serve_only))
    assert client.post("/webhooks/cards", content=body,
                       headers={"X-Signature": sign(body)}).status_code == 200
    assert serve_only.broker.queues == {} or serve_only.broker.queues["hub"].qsize() == 0

    worker = build_runtime(ctx, broker=StubBroker(), services=Services(
        apply_payment_event=apply_payment_event))
    worker.start_worker(1)
    try:
        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=INBOX_PICKUP_SECONDS + 1)
        assert Dispatcher(worker).dispatch_once(now=later) == 1
        worker.broker.join("hub")
        worker.worker.join()
    finally:
        worker.close()
    assert applied == ["evt_9"]
