"""Done when #2 and #3 through the host's real inbox (``hub.jobs.inbox.store_events``: once per
event id) and ledger (``hub.ledger.apply_payment_event``: once per object id), as the host's
webhook route and ``process_inbox_event`` job use them. The host has no auto-charge job yet, so
the worker test records the charge outcome the way such a job would: as a payment event keyed
by the PaymentIntent.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections import Counter
from decimal import Decimal

import pytest
from sqlmodel import Session, select

import hub.db.models as models
from hub import ChargeStatus, Money, PaymentEvent, PaymentEventKind
from hub.db.engine import make_engine, session_scope
from hub.db.models import Invoice, InvoiceLine, InvoiceStatus, Organisation, Payment, PaymentStatus
from hub.db.models.inbox import InboxEvent
from hub.jobs.inbox import store_events
from hub.ledger import apply_payment_event, post_invoice
from hub_payments_stripe import plugin
from hub_payments_stripe.stories import STORIES_500, Invoice as StoryInvoice, Storyteller
from hub_payments_stripe.testing import make_kit

EXPECTED = {"paid": InvoiceStatus.paid, "dispute_won": InvoiceStatus.paid,
            "bank_paid": InvoiceStatus.paid, "retry_paid": InvoiceStatus.paid,
            "partial_refund": InvoiceStatus.partially_paid, "full_refund": InvoiceStatus.unpaid,
            "dispute_lost": InvoiceStatus.unpaid, "bank_failed": InvoiceStatus.unpaid,
            "declined": InvoiceStatus.unpaid}
TODAY = dt.date(2026, 11, 22)


@pytest.fixture
def engine(tmp_path):
    eng = make_engine("sqlite:///" + str(tmp_path / "stripe.sqlite"))
    models.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def story_kit():
    tick = itertools.count(int(time.time()))
    made = make_kit(sandbox_clock=lambda: next(tick))
    yield made
    made.close()


def post_invoices(engine, stories: dict[str, int], per_org: int = 5) -> list[StoryInvoice]:
    """Organisations of ``per_org`` invoices, posted to the ledger like a billing confirm."""
    names = [s for s, n in stories.items() for _ in range(n)]
    out = []
    with session_scope(engine) as s:
        for start in range(0, len(names), per_org):
            org = Organisation(name=f"Org {start // per_org}", currency="USD")
            s.add(org)
            s.flush()
            for i, story in enumerate(names[start:start + per_org], start):
                total = Decimal(100 + i) + Decimal(i % 100) / 100
                inv = Invoice(organisation_id=org.id, number=f"INV{i:04d}", currency="USD",
                              issue_date=dt.date(2026, 11, 1), due_date=dt.date(2026, 12, 31),
                              subtotal=total, total=total)
                s.add(inv)
                s.flush()
                s.add(InvoiceLine(invoice_id=inv.id, description="Managed services",
                                  quantity=Decimal(1), unit_price=total, amount=total))
                post_invoice(s, inv, today=dt.date(2026, 11, 1))
                out.append(StoryInvoice(inv.id, org.id, story, Money(total, "USD")))
    return out


def receive(kit, engine, deliveries) -> None:
    """The host's path: hook -> inbox (new rows only) -> the inbox job applying each once."""
    for delivery in deliveries:
        events = plugin.hub_receive_payment(kit.connection, kit.request(delivery))
        for inbox_id in store_events(engine, kit.connection.name, events, lease_seconds=60):
            with session_scope(engine) as s:
                row = s.get(InboxEvent, inbox_id)
                apply_payment_event(s, row.connection, PaymentEvent.model_validate(row.payload),
                                    today=TODAY)
                row.status = "processed"


@pytest.mark.slow
def test_500_events_three_times_shuffled_through_inbox_and_ledger(story_kit, engine):
    assert shuffled_run(story_kit, engine, STORIES_500) == 500


@pytest.mark.postgres
def test_shuffled_deliveries_on_postgresql(story_kit, hub_postgres_url):
    """The same on PostgreSQL (a fifth of the stories: its commits are slower)."""
    engine = make_engine(hub_postgres_url)
    models.metadata.create_all(engine)
    try:
        fifth = {story: max(1, n // 5) for story, n in STORIES_500.items()}
        assert shuffled_run(story_kit, engine, fifth, per_org=1) > 100
    finally:
        engine.dispose()


def shuffled_run(story_kit, engine, stories: dict[str, int], per_org: int = 5) -> int:
    """Play ``stories``, deliver every event three times shuffled through the host, check the
    ledger; returns how many events Stripe raised."""
    invoices = post_invoices(engine, stories, per_org=per_org)
    teller = Storyteller(story_kit)
    for inv in invoices:
        teller.play(inv)
    events = story_kit.sandbox.webhooks.take()
    deliveries = story_kit.sandbox.webhooks.scramble(events, copies=3, seed=20261122)
    receive(story_kit, engine, deliveries)

    sb = story_kit.sandbox
    with Session(engine) as s:
        assert len(s.exec(select(InboxEvent)).all()) == len(events)
        rows = s.exec(select(Payment).where(Payment.processor == story_kit.connection.name)).all()
        wrong = {inv.id: (inv.story, s.get(Invoice, inv.id).status) for inv in invoices
                 if s.get(Invoice, inv.id).status != EXPECTED[inv.story]}
    counts = Counter(r.processor_object_id for r in rows)
    assert max(counts.values()) == 1  # each payment, refund and dispute once
    ledger = {r.processor_object_id: r for r in rows}
    for pi in sb.store["payment_intent"].values():
        want = {"succeeded": PaymentStatus.succeeded,
                "requires_payment_method": PaymentStatus.failed}[pi["status"]]
        assert ledger[pi["id"]].status == want
        assert ledger[pi["id"]].amount == Decimal(pi["amount"]) / 100
    for refund in sb.store["refund"].values():
        assert ledger[refund["id"]].amount == -Decimal(refund["amount"]) / 100
    for dispute in sb.store["dispute"].values():
        assert ledger[dispute["id"]].amount == -Decimal(dispute["amount"]) / 100
        assert (f"{dispute['id']}:won" in ledger) == (dispute["status"] == "won")
    assert wrong == {}
    return len(events)


def test_won_dispute_closed_before_its_payment_arrives(story_kit, engine):
    [invoice] = post_invoices(engine, {"dispute_won": 1})
    intent = Storyteller(story_kit).play(invoice)
    by_type = {d.type: d for d in story_kit.sandbox.webhooks.take()}
    receive(story_kit, engine, [by_type["charge.dispute.created"], by_type["charge.dispute.closed"],
                                by_type["payment_intent.succeeded"]])
    with Session(engine) as s:
        assert s.get(Invoice, invoice.id).status == InvoiceStatus.paid, intent


def test_worker_dies_after_stripe_charged_one_charge_one_payment(story_kit, engine):
    """Attempt 1 reaches Stripe, Stripe charges, the answer is lost (the worker dies / times
    out); the job runs again with the same idempotency key: Stripe's saved answer, no second
    charge, and one ledger payment however the result and the webhooks arrive. The charge is
    built by the host (stored profile -> ``hub.ledger.payment_profiles.charge_request``)."""
    from hub.ledger.payment_profiles import CardDetails, attach_profile, charge_request
    from hub_payments_stripe import profiles

    [invoice] = post_invoices(engine, {"paid": 1})
    connection = story_kit.connection
    customer = profiles.ensure_customer(connection, invoice.organisation_id, name="Org 0")
    card = profiles.attach_payment_method(connection, customer, "pm_card_visa")
    with session_scope(engine) as s:
        s.get(Invoice, invoice.id).auto_bill = True
        attach_profile(s, organisation_id=invoice.organisation_id, connection=connection.name,
                       customer_ref=customer, payment_method_ref=card.payment_method_ref,
                       card=CardDetails(card.brand, card.last4, card.exp_month, card.exp_year))
    with Session(engine) as s:
        request = charge_request(s, invoice.id, 1, TODAY)

    story_kit.network.drop_response(lambda r: r.url.path == "/v1/payment_intents")
    first = plugin.hub_charge_payment_method(connection, request)
    assert first.status is ChargeStatus.retry      # the hub never heard Stripe's answer
    assert len(story_kit.sandbox.charges()) == 1    # ...but Stripe did charge

    story_kit.sandbox.inject(500, path_prefix="/v1/payment_intents", after_commit=True)
    second = plugin.hub_charge_payment_method(connection, request)  # answer lost again (500)
    assert second.status is ChargeStatus.retry
    third = plugin.hub_charge_payment_method(connection, request)   # Stripe's saved answer
    assert third.status is ChargeStatus.succeeded
    assert len(story_kit.sandbox.charges()) == 1
    assert len(story_kit.sandbox.store["payment_intent"]) == 1

    # the job records what Stripe answered, keyed by the PaymentIntent...
    with session_scope(engine) as s:
        apply_payment_event(s, connection.name, PaymentEvent(
            event_id=f"charge:{request.idempotency_key}",
            kind=PaymentEventKind.payment_succeeded, object_id=third.object_id,
            payment_object_id=third.object_id, invoice_id=invoice.id,
            organisation_id=invoice.organisation_id, amount=request.amount,
            occurred_at=dt.datetime.now(dt.timezone.utc)), today=TODAY)
    # ...and Stripe's webhooks, three times over and shuffled, add nothing
    deliveries = story_kit.sandbox.webhooks.take()
    receive(story_kit, engine, story_kit.sandbox.webhooks.scramble(deliveries, copies=3, seed=7))
    with Session(engine) as s:
        [payment] = s.exec(select(Payment)).all()
        assert payment.processor_object_id == third.object_id
        assert payment.amount == invoice.total.amount
        assert s.get(Invoice, invoice.id).status == InvoiceStatus.paid


def test_renewed_card_and_expiry_notice_reach_the_stored_profile(story_kit, engine):
    """payment_method.automatically_updated -> hub.ledger.payment_profiles.apply_card_event; the
    profile's new expiry drops it from the expiring-card reminders."""
    from hub.ledger.payment_profiles import (
        CardDetails, apply_card_event, attach_profile, expiring_profiles,
    )
    from hub_payments_stripe import profiles

    [invoice] = post_invoices(engine, {"paid": 1})
    connection = story_kit.connection
    customer = profiles.ensure_customer(connection, invoice.organisation_id, name="Org 0")
    card = profiles.attach_payment_method(connection, customer, "pm_card_visa")
    with session_scope(engine) as s:
        attach_profile(s, organisation_id=invoice.organisation_id, connection=connection.name,
                       customer_ref=customer, payment_method_ref=card.payment_method_ref,
                       card=CardDetails(card.brand, card.last4, 12, 2026))
        assert len(expiring_profiles(s, dt.date(2026, 11, 22))) == 1
    story_kit.sandbox.webhooks.take()
    story_kit.sandbox.renew_card(card.payment_method_ref, exp_month=12, exp_year=2030)
    events = story_kit.deliver(story_kit.sandbox.webhooks.take())
    with session_scope(engine) as s:
        [updated] = [apply_card_event(s, connection.name, e) for e in events]
        assert updated.expiry == "12/2030"
        assert expiring_profiles(s, dt.date(2026, 11, 22)) == []
