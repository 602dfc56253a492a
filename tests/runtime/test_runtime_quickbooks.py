"""The QuickBooks plugin through the host: outbox rows pushed by jobs, lost answers and
rejections, payments entered in QuickBooks brought back by webhook (through the hub's web app)
and by the scheduled poll (Change Data Capture) when no webhook comes; each document and payment exists once."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from contextlib import contextmanager

import httpx
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import func, select

import hub_accounting_quickbooks.plugin as qbo_plugin
from hub.db.engine import session_scope
from hub.db.models import ExternalLink, OutboxEntry, OutboxStatus
from hub.db.models.inbox import InboxEvent
from hub.db.models.ledger import Payment
from hub.jobs import JobSettings, build_runtime
from hub.jobs.dispatcher import Dispatcher
from hub.jobs.inbox import store_events
from hub.jobs.scheduler import next_runs
from hub.testing import SandboxServer
from hub.web.app import create_app
from hub_accounting_quickbooks.sandbox import QuickBooksSandbox
from hub_accounting_quickbooks.testing import consent
from hub_accounting_quickbooks.webhooks import catch_up

SETTINGS = JobSettings(min_backoff_seconds=0.01, max_backoff_seconds=0.2, max_attempts=20,
                       dispatch_lease_seconds=5, dispatch_interval_seconds=0.05,
                       push_batch_size=150)
REJECTED = {"T000017": ("6000", "A business validation error has occurred while processing "
                                "your request: Business Validation Error: Customer is inactive."),
            "T000500": ("6210", "Account Period Closed: The account period has closed.")}


def wait_for(condition, timeout=120.0):
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def open_rows(engine) -> int:
    with session_scope(engine) as session:
        return session.execute(select(func.count()).select_from(OutboxEntry).where(
            OutboxEntry.status.in_([OutboxStatus.pending, OutboxStatus.dispatched]))).scalar()


def qbo_payments(engine) -> list[Payment]:
    with session_scope(engine) as session:
        rows = session.execute(select(Payment).where(Payment.processor == "qbo")).scalars().all()
        session.expunge_all()
        return rows


@contextmanager
def running(ctx):
    """Two workers and a dispatcher on a stub broker, as `hub run` has them."""
    runtime = build_runtime(ctx, broker=StubBroker(), settings=SETTINGS)
    runtime.start_worker(2)
    dispatcher = Dispatcher(runtime).start()
    try:
        yield runtime
    finally:
        dispatcher.stop()
        runtime.close()


def bookkeeper_pays(sandbox: QuickBooksSandbox, invoice_id: str, amount: str) -> dict:
    """Someone records a payment directly in QuickBooks."""
    books = sandbox.books()
    invoice = books.invoices()[invoice_id]
    with sandbox.lock:
        return books.create_payment({
            "CustomerRef": invoice["CustomerRef"], "TotalAmt": Decimal(amount),
            "TxnDate": "2026-11-20",
            "Line": [{"Amount": Decimal(amount),
                      "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}]})


def test_thousand_invoices_through_the_host_and_payments_back_once(make_hub_context, seeding):
    # Intuit's requestid memory has always lapsed: only the plugin's record and its look-ups
    # stand between a lost answer and a duplicate
    sandbox = QuickBooksSandbox(scale=60, remember_request_ids=False)
    sandbox.books().reject_numbers.update(REJECTED)
    slow = sandbox.inject("slow", times=3, method="POST", path="^/batch$", seconds=1.0,
                          after=True, when=lambda n: n in (4, 9, 15))
    drop = sandbox.inject("drop", times=1, method="POST", path="^/batch$", after=True,
                          when=lambda n: n == 12)
    error = sandbox.inject("status", times=1, method="POST", path="^/batch$", status=503,
                           when=lambda n: n == 20)
    with sandbox.serve() as url:
        settings = sandbox.settings_for(url, timeout_seconds=0.5)
        ctx = make_hub_context(qbo_plugin, connections=[
            {"name": "qbo", "plugin": "quickbooks", "settings": settings}])
        ctx.clock.set(sandbox.clock.now())  # the hub's clock and Intuit's agree, as in life
        consent(ctx.connection("qbo"))
        ids = seeding.seed_invoices(ctx.engine, 1000, "qbo")
        with running(ctx) as runtime:
            wait_for(lambda: open_rows(ctx.engine) == 0)
            assert slow.fired == 3 and drop.fired == 1 and error.fired == 1

            stored = Counter(i["DocNumber"] for i in sandbox.books().invoices().values())
            assert len(stored) == 998 and set(stored.values()) == {1}, "a duplicate"
            with session_scope(ctx.engine) as session:
                failed = {row.document_id: row.last_error for row in session.execute(
                    select(OutboxEntry).where(OutboxEntry.status == OutboxStatus.failed))
                    .scalars()}
                links = dict(session.execute(select(ExternalLink.document_id,
                                                    ExternalLink.external_id)).all())
            assert sorted(failed.values()) == sorted(m for _, m in REJECTED.values())
            assert len(links) == 998 and set(links) | set(failed) == set(ids)
            # the pushes are done: the short timeout was there to turn the injected slow
            # answers into lost ones. The reads below bring a day of changes (every invoice)
            # in one answer, which a busy machine may serve slower than 0.5 s
            connection = ctx.connection("qbo")
            connection.settings = connection.settings.model_copy(update={"timeout_seconds": 30.0})

            # a bookkeeper records two payments in QuickBooks; Intuit's webhook reaches the
            # hub's web app (twice: deliveries repeat); one ledger payment each
            by_number = {i["DocNumber"]: i["Id"] for i in sandbox.books().invoices().values()}
            first = bookkeeper_pays(sandbox, by_number["T000001"], "101.01")
            second = bookkeeper_pays(sandbox, by_number["T000002"], "50.00")
            body, signature = sandbox.webhook()
            with SandboxServer(create_app(ctx, runtime), log_level="critical") as web:
                for _ in range(2):
                    answer = httpx.post(f"{web.url}/webhooks/qbo", content=body,
                                        headers={"intuit-signature": signature})
                    assert answer.status_code == 200, answer.text
            wait_for(lambda: len(qbo_payments(ctx.engine)) == 2)

            # a third payment whose webhook never comes: the scheduler's poll job (what it
            # sends for a connection with the payments_poll capability) reads Change Data
            # Capture and stores the events like a webhook's; only the third is new
            third = bookkeeper_pays(sandbox, by_number["T000003"], "103.03")
            sandbox.skip_notifications()
            sandbox.clock.advance(5)
            ctx.clock.set(sandbox.clock.now())
            assert "poll:qbo" in next_runs(ctx, ctx.clock())
            with session_scope(ctx.engine) as session:
                inbox_before = session.execute(select(func.count()).select_from(InboxEvent)).scalar()
            runtime.send("poll_payments", "qbo")
            wait_for(lambda: len(qbo_payments(ctx.engine)) == 3)
            with session_scope(ctx.engine) as session:
                assert session.execute(select(func.count()).select_from(InboxEvent)).scalar() \
                    == inbox_before + 1  # the webhook's two payments were not stored again
            # `hub quickbooks catch-up` reads the same feed: nothing new for the host
            assert store_events(ctx.engine, "qbo", catch_up(ctx.connection("qbo")), 0) == []
            wait_for(lambda: open_rows(ctx.engine) == 0)
    payments = {p.processor_object_id: p for p in qbo_payments(ctx.engine)}
    assert set(payments) == {first["Id"], second["Id"], third["Id"]}
    assert payments[third["Id"]].amount == Decimal("103.03")
    # pushing those ledger payments back created nothing new in QuickBooks
    assert len(sandbox.books().payments()) == 3
    assert not sandbox.schema_violations
