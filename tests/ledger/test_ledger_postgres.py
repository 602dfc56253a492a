"""On PostgreSQL: payments racing for one invoice never overpay it; the same processor object
is stored once even when two workers apply it at the same moment."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from sqlmodel import Session, select

import hub.db.models as models
from hub.core.money import Money
from hub.db.engine import make_engine, session_scope
from hub.db.models import Invoice, Organisation, Payment
from hub.contract.records import PaymentEvent, PaymentEventKind
from hub.ledger import apply_payment_event, balance, post_invoice, record_payment

pytestmark = pytest.mark.postgres
DAY = dt.date(2026, 3, 5)


@pytest.fixture
def pg(hub_postgres_url):
    engine = make_engine(hub_postgres_url)
    models.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as s:
        org = Organisation(name="Race")
        s.add(org)
        s.flush()
        inv = Invoice(organisation_id=org.id, number="R-1", issue_date=DAY, due_date=DAY,
                      subtotal=D("100"), total=D("100"))
        s.add(inv)
        s.flush()
        post_invoice(s, inv)
        s.commit()
    yield engine, org.id, inv.id
    engine.dispose()


def _race(fn, n=4):
    barrier = threading.Barrier(n)
    errors = []

    def run():
        barrier.wait()
        try:
            fn()
        except Exception as exc:  # collected and re-raised by the test
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_racing_payments_never_overpay_an_invoice(pg):
    engine, org_id, invoice_id = pg

    def pay():
        with session_scope(engine) as s:
            record_payment(s, org_id, "60", date=DAY, invoice_id=invoice_id)

    assert _race(pay) == []
    with Session(engine) as s:
        inv = s.get(Invoice, invoice_id)
        assert inv.amount_paid == D("100") and inv.status == "paid"
        assert balance(s, org_id) == D("140")  # 240 paid, 100 invoiced: the rest is credit


def test_the_same_charge_applied_by_racing_workers_is_one_payment(pg):
    engine, org_id, invoice_id = pg
    event = PaymentEvent(event_id="evt_1", kind=PaymentEventKind.payment_succeeded,
                         object_id="pi_race", occurred_at=dt.datetime(2026, 3, 5,
                                                                      tzinfo=dt.timezone.utc),
                         invoice_id=invoice_id, amount=Money("100", "USD"))

    def apply():
        with session_scope(engine) as s:
            apply_payment_event(s, "stripe", event)

    assert _race(apply) == []
    with Session(engine) as s:
        assert len(s.exec(select(Payment)).all()) == 1
        assert s.get(Invoice, invoice_id).status == "paid"
