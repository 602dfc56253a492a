"""Processor events applied once and in any order (idempotent per object id)."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal as D

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from hub.core.money import Money
from hub.db.models import InvoiceStatus, Payment
from hub.contract.records import PaymentEvent, PaymentEventKind as K
from hub.ledger import apply_payment_event, balance

AT = dt.datetime(2026, 3, 5, 12, tzinfo=dt.timezone.utc)
_ids = itertools.count(1)


def ev(kind, object_id, invoice, amount=None, *, payment_object_id=None, status=None):
    return PaymentEvent(event_id=f"evt_{next(_ids)}", kind=kind, object_id=object_id,
                        occurred_at=AT, invoice_id=invoice.id, organisation_id=invoice.organisation_id,
                        amount=Money(amount, "USD") if amount else None,
                        payment_object_id=payment_object_id, status=status)


def test_succeeded_twice_is_one_payment(session, org, make_invoice):
    inv = make_invoice("100")
    e = ev(K.payment_succeeded, "pi_1", inv, "100")
    apply_payment_event(session, "stripe", e)
    apply_payment_event(session, "stripe", e)
    assert len(session.exec(select(Payment)).all()) == 1
    assert inv.status == InvoiceStatus.paid and balance(session, org.id) == 0


def test_unique_constraint_holds_one_payment_per_processor_object(session, org):
    for _ in range(2):
        session.add(Payment(organisation_id=org.id, amount=D("1"), date=AT.date(),
                            processor="stripe", processor_object_id="ch_dup"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_processing_marks_pending_and_late_processing_never_downgrades(session, org, make_invoice):
    inv = make_invoice("100", issue=dt.date(2026, 3, 1), due=dt.date(2026, 3, 30))
    apply_payment_event(session, "stripe", ev(K.payment_processing, "pi_1", inv))
    assert inv.status == InvoiceStatus.pending
    apply_payment_event(session, "stripe", ev(K.payment_succeeded, "pi_1", inv, "100"))
    apply_payment_event(session, "stripe", ev(K.payment_processing, "pi_1", inv))
    assert inv.status == InvoiceStatus.paid
    assert session.exec(select(Payment)).one().status == "succeeded"


def test_failed_then_unpaid_and_a_later_success_still_counts(session, org, make_invoice):
    inv = make_invoice("100", issue=dt.date(2026, 3, 1), due=dt.date(2026, 3, 30))
    apply_payment_event(session, "stripe", ev(K.payment_processing, "pi_1", inv))
    apply_payment_event(session, "stripe", ev(K.payment_failed, "pi_1", inv))
    assert inv.status == InvoiceStatus.unpaid
    apply_payment_event(session, "stripe", ev(K.payment_succeeded, "pi_1", inv, "100"))
    assert inv.status == InvoiceStatus.paid


def test_refund_before_its_payment_waits_and_then_applies(session, org, make_invoice):
    inv = make_invoice("100")
    apply_payment_event(session, "stripe", ev(K.refunded, "re_1", inv, "30",
                                              payment_object_id="pi_1"))
    assert balance(session, org.id) == D("-100")
    apply_payment_event(session, "stripe", ev(K.payment_succeeded, "pi_1", inv, "100"))
    assert inv.status == InvoiceStatus.partially_paid and inv.amount_due == D("30")
    assert balance(session, org.id) == D("-30")


def test_dispute_hold_and_won(session, org, make_invoice):
    inv = make_invoice("100")
    apply_payment_event(session, "stripe", ev(K.payment_succeeded, "pi_1", inv, "100"))
    apply_payment_event(session, "stripe", ev(K.dispute_opened, "dp_1", inv, "100",
                                              payment_object_id="pi_1"))
    assert inv.status == InvoiceStatus.unpaid and balance(session, org.id) == D("-100")
    closed = ev(K.dispute_closed, "dp_1", inv, "100", payment_object_id="pi_1", status="won")
    apply_payment_event(session, "stripe", closed)
    apply_payment_event(session, "stripe", closed)
    assert inv.status == InvoiceStatus.paid and balance(session, org.id) == 0


def _stream(inv):
    return [ev(K.payment_processing, "pi_1", inv),
            ev(K.payment_succeeded, "pi_1", inv, "100"),
            ev(K.refunded, "re_1", inv, "20", payment_object_id="pi_1"),
            ev(K.dispute_opened, "dp_1", inv, "50", payment_object_id="pi_1"),
            ev(K.dispute_closed, "dp_1", inv, "50", payment_object_id="pi_1", status="lost")]


@pytest.mark.parametrize("seed", range(8))
def test_any_order_with_duplicates_gives_the_same_ledger(session, org, make_invoice, seed):
    inv = make_invoice("100", issue=dt.date(2026, 3, 1), due=dt.date(2026, 3, 30))
    events = _stream(inv) * 3
    random.Random(seed).shuffle(events)
    for e in events:
        apply_payment_event(session, "stripe", e)
    amounts = sorted(p.amount for p in session.exec(select(Payment)))
    assert amounts == [D("-50"), D("-20"), D("100")]
    assert balance(session, org.id) == D("-70")
    assert inv.amount_due == D("70") and inv.status == InvoiceStatus.partially_paid


def test_won_dispute_closed_before_its_payment_succeeded_gives_the_money_back(session, org,
                                                                              make_invoice):
    inv = make_invoice("100")
    for e in [ev(K.dispute_opened, "dp_1", inv, "100", payment_object_id="pi_1"),
              ev(K.dispute_closed, "dp_1", inv, "100", payment_object_id="pi_1", status="won"),
              ev(K.payment_succeeded, "pi_1", inv, "100")]:
        apply_payment_event(session, "stripe", e)
    assert inv.status == InvoiceStatus.paid and balance(session, org.id) == 0
    assert sorted(p.amount for p in session.exec(select(Payment))) == [D("-100"), D("100"),
                                                                        D("100")]


@pytest.mark.parametrize("seed", range(8))
def test_any_order_with_a_won_dispute_leaves_the_invoice_paid(session, org, make_invoice, seed):
    inv = make_invoice("100", issue=dt.date(2026, 3, 1), due=dt.date(2026, 3, 30))
    events = [ev(K.payment_processing, "pi_1", inv),
              ev(K.payment_succeeded, "pi_1", inv, "100"),
              ev(K.dispute_opened, "dp_1", inv, "100", payment_object_id="pi_1"),
              ev(K.dispute_closed, "dp_1", inv, "100", payment_object_id="pi_1",
                 status="won")] * 3
    random.Random(seed).shuffle(events)
    for e in events:
        apply_payment_event(session, "stripe", e)
    assert inv.status == InvoiceStatus.paid and balance(session, org.id) == 0
    assert len(session.exec(select(Payment)).all()) == 3


def test_refund_of_a_processor_payment_is_requested_then_applied_once(session, org, make_invoice):
    from hub.db.models import OutboxEntry
    from hub.ledger import request_refund

    inv = make_invoice("100")
    pay = apply_payment_event(session, "stripe", ev(K.payment_succeeded, "pi_1", inv, "100"))
    row = request_refund(session, pay.id, "40", reason="goodwill")
    assert (row.effect, row.connection, row.payload["amount"]) == ("refund", "stripe", "40")
    assert balance(session, org.id) == 0  # nothing in the ledger until the processor confirms
    confirmed = ev(K.refunded, "re_1", inv, "40", payment_object_id="pi_1")
    apply_payment_event(session, "stripe", confirmed)
    apply_payment_event(session, "stripe", confirmed)
    assert balance(session, org.id) == D("-40") and inv.amount_due == D("40")
    assert len(session.exec(select(OutboxEntry).where(OutboxEntry.effect == "refund")).all()) == 1
