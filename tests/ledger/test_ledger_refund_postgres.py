"""On PostgreSQL: refund requests for one card payment racing each other never ask the
processor for more than was paid — one full request wins, the others are refused."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from sqlmodel import Session, select

import hub.db.models as models
from hub.contract.records import PaymentEvent, PaymentEventKind
from hub.core.money import Money
from hub.db.engine import make_engine, session_scope
from hub.db.models import Invoice, Organisation, OutboxEntry
from hub.db.models.sync import Effect
from hub.errors import DocumentRefused
from hub.ledger import apply_payment_event, post_invoice, request_refund

pytestmark = pytest.mark.postgres
DAY = dt.date(2026, 3, 5)


@pytest.fixture
def card_payment(hub_postgres_url):
    """An engine and the id of a 644.00 invoice's payment taken by the ``stripe`` connection."""
    engine = make_engine(hub_postgres_url)
    models.metadata.create_all(engine)
    with session_scope(engine) as s:
        org = Organisation(name="Race")
        s.add(org)
        s.flush()
        inv = Invoice(organisation_id=org.id, number="R-1", issue_date=DAY, due_date=DAY,
                      subtotal=D("644"), total=D("644"))
        s.add(inv)
        s.flush()
        post_invoice(s, inv)
        payment = apply_payment_event(s, "stripe", PaymentEvent(
            event_id="evt_1", kind=PaymentEventKind.payment_succeeded, object_id="pi_race",
            occurred_at=dt.datetime(2026, 3, 5, tzinfo=dt.timezone.utc), invoice_id=inv.id,
            amount=Money("644", "USD")))
        payment_id = payment.id
    yield engine, payment_id
    engine.dispose()


def test_racing_full_refund_requests_ask_for_the_payment_once(card_payment):
    engine, payment_id = card_payment
    barrier = threading.Barrier(4)
    outcomes: list[object] = []

    def ask() -> None:
        barrier.wait()
        try:
            with session_scope(engine) as s:
                request_refund(s, payment_id, "644")
            outcomes.append("requested")
        except Exception as exc:  # collected and checked below
            outcomes.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("requested") == 1, outcomes
    assert all(isinstance(o, DocumentRefused) for o in outcomes if o != "requested"), outcomes
    with Session(engine) as s:
        rows = s.exec(select(OutboxEntry).where(OutboxEntry.effect == Effect.refund)).all()
        assert [D(r.payload["amount"]) for r in rows] == [D("644")]
