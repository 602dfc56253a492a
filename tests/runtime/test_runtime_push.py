"""Outbox -> push -> synced and locked; transient failures retried, permanent ones recorded."""

from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager

from dramatiq.brokers.stub import StubBroker
from pydantic import BaseModel
from sqlalchemy import delete, func, select

from hub import ConnectionType, PushOutcome, PushStatus, hookimpl, owns
from hub.db.models.sync import Effect

from hub.db.engine import session_scope
from hub.db.models import ExternalLink, Invoice, JobRecord, OutboxEntry, OutboxStatus
from hub.jobs import JobSettings, build_runtime
from hub.jobs.dispatcher import Dispatcher
from hub.jobs.records import list_jobs, retry_job
from hub.testing import SandboxServer

FAST = JobSettings(min_backoff_seconds=0.01, max_backoff_seconds=0.05, max_attempts=20,
                   dispatch_lease_seconds=5, dispatch_interval_seconds=0.05, push_batch_size=10)


def wait_settled(engine, timeout: float = 20.0) -> None:
    """Wait until no outbox row is pending or dispatched."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(engine) as session:
            open_rows = session.execute(select(func.count()).select_from(OutboxEntry).where(
                OutboxEntry.status.in_([OutboxStatus.pending, OutboxStatus.dispatched]))).scalar()
        if open_rows == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"{open_rows} outbox rows still open after {timeout}s")


@contextmanager
def running(ctx, settings=FAST):
    """A runtime with two workers and a dispatcher, both stopped on the way out."""
    runtime = build_runtime(ctx, broker=StubBroker(), settings=settings)
    runtime.start_worker(2)
    dispatcher = Dispatcher(runtime).start()
    try:
        yield runtime
    finally:
        dispatcher.stop()
        runtime.close()


def push_until_settled(ctx, settings=FAST, timeout: float = 20.0) -> None:
    """Run the runtime until every outbox row is done or failed, then stop it."""
    with running(ctx, settings):
        wait_settled(ctx.engine, timeout=timeout)


def books(url: str) -> list[dict]:
    return [{"name": "books", "plugin": "sandbox_accounting",
             "settings": {"base_url": url, "timeout_seconds": 0.3}}]


def test_outbox_rows_are_pushed_linked_locked_and_done(make_hub_context, sandbox_module, seeding):
    app, ledger = sandbox_module.create_sandbox_app()
    with SandboxServer(app, log_level="critical") as server:
        ctx = make_hub_context(sandbox_module, connections=books(server.url))
        ids = seeding.seed_invoices(ctx.engine, 25, "books")
        push_until_settled(ctx)
    assert ledger.calls == 3  # 25 invoices in batches of 10: one hook call per batch
    assert sorted(ledger.numbers()) == [f"T{i:06d}" for i in range(25)]
    with session_scope(ctx.engine) as session:
        rows = session.execute(select(OutboxEntry)).scalars().all()
        assert {r.status for r in rows} == {OutboxStatus.done}
        links = session.execute(select(ExternalLink)).scalars().all()
        assert sorted(link.document_id for link in links) == sorted(ids)
        invoices = session.execute(select(Invoice)).scalars().all()
        assert all(inv.locked_at is not None and inv.locked_by == "books" for inv in invoices)
    # hub_lock_synced_documents was broadcast for every synced document
    assert {ref.id for ref in sandbox_module.LOCKED} >= set(ids)


def test_transient_failures_are_retried_until_synced(make_hub_context, sandbox_module, seeding):
    plan = sandbox_module.FaultPlan(failure_rate=0.5, hold_seconds=0.5, retry_after=0.02)
    app, ledger = sandbox_module.create_sandbox_app(plan)
    with SandboxServer(app, log_level="critical") as server:
        ctx = make_hub_context(sandbox_module, connections=books(server.url))
        seeding.seed_invoices(ctx.engine, 30, "books")
        push_until_settled(ctx, timeout=30)
    assert sum(ledger.faults.values()) > 0
    assert sorted(ledger.numbers()) == [f"T{i:06d}" for i in range(30)]
    with session_scope(ctx.engine) as session:
        statuses = set(session.execute(select(OutboxEntry.status)).scalars())
        assert statuses == {OutboxStatus.done}
        assert session.execute(select(func.count()).select_from(ExternalLink)).scalar() == 30
        assert session.execute(select(func.count()).select_from(JobRecord)).scalar() == 0


def test_permanent_rejection_stops_at_once_and_is_replayable(make_hub_context, sandbox_module,
                                                              seeding):
    app, ledger = sandbox_module.create_sandbox_app()
    with SandboxServer(app, log_level="critical") as server:
        ctx = make_hub_context(sandbox_module, connections=books(server.url))
        seeding.seed_invoices(ctx.engine, 3, "books")
        seeding.seed_invoices(ctx.engine, 1, "books", prefix="BAD")
        with running(ctx) as runtime:
            wait_settled(ctx.engine)
            with session_scope(ctx.engine) as session:
                bad = session.execute(select(OutboxEntry).where(
                    OutboxEntry.status == OutboxStatus.failed)).scalar_one()
                assert bad.attempts == 1  # not retried
                assert bad.last_error == "Number is not allowed"
                invoice = session.get(Invoice, bad.document_id)
                assert invoice.locked_at is None
            failed = list_jobs(ctx.engine, failed_only=True)
            assert [(j.actor, j.outbox_id, j.reason) for j in failed] == [
                ("push_documents", bad.id, "Number is not allowed")]
            # Replaying puts the row back through the dispatcher (and it fails the same way).
            retry_job(runtime, failed[0].id)
            # the replayed job is no longer a failed one (its replay may already have failed
            # again by now, as a new job record: the worker does not wait for this check)
            assert failed[0].id not in [j.id for j in list_jobs(ctx.engine, failed_only=True)]
            wait_settled(ctx.engine)
            again = list_jobs(ctx.engine, failed_only=True)
            assert len(again) == 1 and again[0].outbox_id == bad.id
    assert sorted(ledger.numbers()) == [f"T{i:06d}" for i in range(3)]


def test_exhausted_transient_failures_are_recorded(make_hub_context, sandbox_module, seeding):
    plan = sandbox_module.FaultPlan(failure_rate=1.0, kinds=("500",))
    app, _ = sandbox_module.create_sandbox_app(plan)
    with SandboxServer(app, log_level="critical") as server:
        ctx = make_hub_context(sandbox_module, connections=books(server.url))
        seeding.seed_invoices(ctx.engine, 2, "books")
        settings = FAST.model_copy(update={"max_attempts": 3})
        push_until_settled(ctx, settings)
    with session_scope(ctx.engine) as session:
        rows = session.execute(select(OutboxEntry)).scalars().all()
        assert [(r.status, r.attempts) for r in rows] == [(OutboxStatus.failed, 3)] * 2
        assert all(r.last_error.startswith("gave up after 3 attempts") for r in rows)
    assert len(list_jobs(ctx.engine, failed_only=True)) == 2


class _ThrowawayBooks:
    """A throwaway accounting plugin: registers the connection type ``type_name`` (no
    settings); subclasses add the hook they test."""

    type_name = ""

    @hookimpl
    def hub_register_connection_types(self, register):
        register(ConnectionType(self.type_name, Empty, frozenset({"accounting"})))


class VoidingBooks(_ThrowawayBooks):
    """Voids what it is asked to unless the invoice has a payment at the target (then it
    refuses, so a credit note is needed)."""

    type_name = "voiding_books"

    def __init__(self) -> None:
        self.voided: list = []

    @hookimpl
    def hub_void_invoice(self, connection, invoice):
        if not owns(connection, "voiding_books"):
            return None
        if invoice.external_id == "EXT-PAID":
            return PushOutcome(document_id=invoice.id, status=PushStatus.rejected,
                               message="invoice has payments")
        self.voided.append(invoice.external_id)
        return PushOutcome(document_id=invoice.id, status=PushStatus.synced,
                           external_id=invoice.external_id)


class Empty(BaseModel):
    pass


def test_void_invoice_job(make_hub_context, seeding):
    plugin = VoidingBooks()
    ctx = make_hub_context(plugin, connections=[{"name": "books", "plugin": "voiding_books"}])
    ids = seeding.seed_invoices(ctx.engine, 3, "elsewhere")
    with session_scope(ctx.engine) as session:
        session.execute(delete(OutboxEntry))
        for invoice_id, external in zip(ids[:2], ["EXT-1", "EXT-PAID"]):
            session.add(ExternalLink(document_kind="invoice", document_id=invoice_id,
                                     connection="books", external_id=external))
        for invoice_id in ids:  # the third was never pushed: nothing to void
            session.add(OutboxEntry(effect=Effect.void, document_kind="invoice",
                                    document_id=invoice_id, connection="books"))
    push_until_settled(ctx)
    assert plugin.voided == ["EXT-1"]
    with session_scope(ctx.engine) as session:
        rows = {r.document_id: r for r in session.execute(select(OutboxEntry)).scalars()}
    assert rows[ids[0]].status == OutboxStatus.done
    assert rows[ids[1]].status == OutboxStatus.failed
    assert "credit note" in rows[ids[1]].last_error
    assert rows[ids[2]].status == OutboxStatus.done


class PaymentBooks(_ThrowawayBooks):
    """Records pushed payments."""

    type_name = "payment_books"

    def __init__(self) -> None:
        self.payments: list = []

    @hookimpl
    def hub_push_payments(self, connection, payments):
        if not owns(connection, "payment_books"):
            return None
        self.payments.extend(payments)
        return [PushOutcome(document_id=p.id, status=PushStatus.synced, external_id=f"PAY-{p.id}")
                for p in payments]


def test_payments_from_the_ledger_are_pushed_and_locked(make_hub_context, seeding):
    from decimal import Decimal

    from hub.db.models.ledger import Payment
    from hub.ledger import ledger_session, post_invoice, record_payment

    plugin = PaymentBooks()
    ctx = make_hub_context(plugin, connections=[{"name": "books", "plugin": "payment_books"}])
    [invoice_id] = seeding.seed_invoices(ctx.engine, 1, "elsewhere")
    with session_scope(ctx.engine) as session:
        session.execute(delete(OutboxEntry))
        invoice = session.get(Invoice, invoice_id)
        organisation_id = invoice.organisation_id
        post_invoice(session, invoice, today=dt.date(2026, 11, 1))
    with ledger_session(ctx) as session:  # writes the payment's push outbox row for "books"
        payment = record_payment(session, organisation_id, invoice_id=invoice_id, amount=Decimal("100.00"),
                                 date=dt.date(2026, 11, 3), today=dt.date(2026, 11, 3))
        payment_id = payment.id
    push_until_settled(ctx)
    assert [(p.id, p.invoice_id, p.amount.amount) for p in plugin.payments] == [
        (payment_id, invoice_id, Decimal("100.00"))]
    with session_scope(ctx.engine) as session:
        stored = session.get(Payment, payment_id)
        assert stored.locked_at is not None and stored.locked_by == "books"
        link = session.execute(select(ExternalLink)).scalar_one()
        assert (link.document_kind, link.external_id) == ("payment", f"PAY-{payment_id}")


def test_every_outbox_effect_has_a_job():
    """An effect nobody performs would sit in the outbox forever: each one has an actor."""
    from hub.jobs.actors import OUTBOX_ACTORS

    assert {effect.value for effect in Effect} == set(OUTBOX_ACTORS)
