"""Done when #2 at the plugin level: 500 Stripe events for 100 invoices, each delivered three
times in shuffled order, verified by ``hub_receive_payment`` and applied to a small in-test
ledger double with the order-independent rules the host ledger has (stored once per event id,
one effect per object id, a payment's state only moves forward: processing < failed <
succeeded). The same deliveries through the host's real inbox and ledger are in
test_stripe_host_ledger.py.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from decimal import Decimal

import pytest

from hub import Money, PaymentEvent, PaymentEventKind as K
from hub_payments_stripe import plugin
from hub_payments_stripe.stories import STORIES_500, Invoice, Storyteller
from hub_payments_stripe.testing import make_kit

EXPECTED = {"paid": "paid", "dispute_won": "paid", "bank_paid": "paid", "retry_paid": "paid",
            "partial_refund": "partially_paid", "full_refund": "unpaid",
            "dispute_lost": "unpaid", "bank_failed": "unpaid", "declined": "unpaid"}
RANK = {K.payment_processing: 1, K.payment_failed: 2, K.payment_succeeded: 3}


class LedgerDouble:
    """Stand-in for the host's inbox + ledger (see module docstring)."""

    def __init__(self) -> None:
        self.inbox: dict[str, PaymentEvent] = {}
        self.payments: dict[str, PaymentEvent] = {}
        self.refunds: dict[str, PaymentEvent] = {}
        self.disputes: dict[str, PaymentEvent] = {}

    def receive(self, events: list[PaymentEvent]) -> None:
        for event in events:
            if event.event_id in self.inbox:
                continue  # a duplicate delivery
            self.inbox[event.event_id] = event
            if event.kind in RANK:
                old = self.payments.get(event.object_id)
                if old is None or RANK[event.kind] > RANK[old.kind]:
                    self.payments[event.object_id] = event
            elif event.kind is K.refunded:
                self.refunds.setdefault(event.object_id, event)
            elif event.kind is K.dispute_opened:
                self.disputes.setdefault(event.object_id, event)
            elif event.kind is K.dispute_closed:
                self.disputes[event.object_id] = event  # closing is final, whatever came first

    def invoice_status(self, invoice_id: int, total: Money) -> str:
        intents = {i for i, e in self.payments.items()
                   if e.invoice_id == invoice_id and e.kind is K.payment_succeeded}
        paid = Money.sum((self.payments[i].amount for i in intents), total.currency)
        back = Money.sum((e.amount for e in self.refunds.values()
                          if e.payment_object_id in intents), total.currency)
        held = Money.sum((e.amount for e in self.disputes.values()
                          if e.payment_object_id in intents and e.status != "won"), total.currency)
        net = paid - back - held
        return "paid" if net == total else "unpaid" if not net else "partially_paid"


@pytest.fixture
def story_kit():
    tick = itertools.count(int(time.time()))
    made = make_kit(sandbox_clock=lambda: next(tick))
    yield made
    made.close()


def make_invoices() -> list[Invoice]:
    stories = [s for s, n in STORIES_500.items() for _ in range(n)]
    return [Invoice(i + 1, i // 5 + 1, story, Money(Decimal(100 + i) + Decimal(i % 100) / 100, "USD"))
            for i, story in enumerate(stories)]


def test_500_events_three_times_shuffled_converge(story_kit):
    invoices = make_invoices()
    teller = Storyteller(story_kit)
    for invoice in invoices:
        teller.play(invoice)
    events = story_kit.sandbox.webhooks.take()
    assert len(invoices) == 100 and len(events) == 500
    deliveries = story_kit.sandbox.webhooks.scramble(events, copies=3, seed=20261122)
    assert len(deliveries) == 1500 and deliveries[:500] != events

    ledger = LedgerDouble()
    for delivery in deliveries:
        ledger.receive(plugin.hub_receive_payment(story_kit.connection,
                                                  story_kit.request(delivery)))

    assert len(ledger.inbox) == 500
    for invoice in invoices:
        assert ledger.invoice_status(invoice.id, invoice.total) == EXPECTED[invoice.story], invoice
    sb = story_kit.sandbox
    # each payment, refund and dispute once, with Stripe's amount to the cent
    assert set(ledger.payments) == set(sb.store["payment_intent"])
    for pi in sb.store["payment_intent"].values():
        event = ledger.payments[pi["id"]]
        assert (event.kind is K.payment_succeeded) == (pi["status"] == "succeeded")
        assert event.amount == Money(Decimal(pi["amount"]) / 100, "USD")
        assert event.invoice_id == int(pi["metadata"]["hub_invoice_id"])
    assert set(ledger.refunds) == set(sb.store["refund"]) and len(ledger.refunds) == 15
    assert set(ledger.disputes) == set(sb.store["dispute"]) and len(ledger.disputes) == 23
    for event in [*ledger.refunds.values(), *ledger.disputes.values()]:
        source = ledger.payments[event.payment_object_id]
        assert (event.invoice_id, event.organisation_id) == (source.invoice_id,
                                                             source.organisation_id)
    assert Counter(e.status for e in ledger.disputes.values()) == {"won": 15, "lost": 8}


def test_a_processing_after_succeeded_does_not_downgrade(story_kit):
    teller = Storyteller(story_kit)
    intent = teller.play(Invoice(1, 1, "bank_paid", Money("80.00", "USD")))
    by_type = {d.type: d for d in story_kit.sandbox.webhooks.take()}
    ledger = LedgerDouble()
    for kind in ("payment_intent.succeeded", "payment_intent.processing",
                 "payment_intent.succeeded"):
        ledger.receive(story_kit.deliver([by_type[kind]]))
    assert ledger.payments[intent].kind is K.payment_succeeded
    assert ledger.invoice_status(1, Money("80.00", "USD")) == "paid"
