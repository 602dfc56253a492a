"""Issue #19: a missed payment webhook is caught up by polling on a schedule — the scheduler
sends ``poll_payments`` for connections whose type polls, the job asks ``hub_poll_payments``
for what changed since the last poll, stores the events once (a webhook's duplicate is not
stored again) and the ledger applies them."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

from dramatiq.brokers.stub import StubBroker
from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select

from hub import ConnectionType, Money, PaymentEvent, PaymentEventKind, hookimpl, owns
from hub.db.engine import session_scope
from hub.db.models import InboxEvent, Invoice, OutboxEntry, Payment
from hub.jobs import build_runtime
from hub.jobs.inbox import store_events
from hub.jobs.polling import FIRST_POLL_LOOKBACK, POLL_OVERLAP, poll_payments
from hub.jobs.scheduler import due_runs
from hub.ledger import post_invoice


class _Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolledBooks:
    """An accounting system that can be polled; ``changes`` are what it reports."""

    def __init__(self) -> None:
        self.asked: list[dt.datetime] = []
        self.changes: list[PaymentEvent] = []

    @hookimpl
    def hub_register_connection_types(self, register):
        register(ConnectionType("polled_books", _Empty,
                                frozenset({"accounting", "payments_poll"})))

    @hookimpl
    def hub_poll_payments(self, connection, since):
        if not owns(connection, "polled_books"):
            return None
        self.asked.append(since)
        return list(self.changes)


def _event(invoice_id: int) -> PaymentEvent:
    return PaymentEvent(event_id="books:payment:P-1", kind=PaymentEventKind.payment_succeeded,
                        object_id="P-1", occurred_at=dt.datetime(2026, 11, 20, 9,
                                                                 tzinfo=dt.timezone.utc),
                        invoice_id=invoice_id, amount=Money("30.00", "USD"),
                        method="bank_transfer", reference="BACS 1", message="recorded there")


def test_scheduler_polls_payment_connections_and_the_job_catches_up(make_hub_context, seeding,
                                                                     hub_clock):
    plugin = PolledBooks()
    ctx = make_hub_context(plugin, connections=[
        {"name": "books", "plugin": "polled_books", "pull_interval_minutes": 15}])
    [invoice_id] = seeding.seed_invoices(ctx.engine, 1, "elsewhere")
    with session_scope(ctx.engine) as session:
        session.execute(delete(OutboxEntry))
        post_invoice(session, session.get(Invoice, invoice_id), today=dt.date(2026, 11, 1))

    now = ctx.clock()
    runs = {run.job: run for run in due_runs(ctx, now)}
    assert runs["poll:books"].actor == "poll_payments" and runs["poll:books"].args == ("books",)

    plugin.changes = [_event(invoice_id)]
    runtime = build_runtime(ctx, broker=StubBroker())
    runtime.start_worker(1)
    try:
        runtime.send("poll_payments", "books")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with session_scope(ctx.engine) as session:
                payment = session.execute(select(Payment)).scalar_one_or_none()
            if payment is not None and payment.status.value == "succeeded":
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the polled payment never reached the ledger")
    finally:
        runtime.close()
    assert (payment.method.value, payment.reference, payment.amount) == (
        "bank_transfer", "BACS 1", Decimal("30.00"))
    assert plugin.asked == [now - FIRST_POLL_LOOKBACK]  # never polled: a day back

    # the next poll asks from the last one's start (less the overlap); the same event again
    # (or its webhook arriving late) is not stored twice
    later = poll_payments(ctx, None, "books")
    assert later == [] and plugin.asked[-1] == now - POLL_OVERLAP
    assert store_events(ctx.engine, "books", [_event(invoice_id)], 60) == []
    with session_scope(ctx.engine) as session:
        assert len(session.execute(select(InboxEvent)).scalars().all()) == 1
        assert len(session.execute(select(Payment)).scalars().all()) == 1
