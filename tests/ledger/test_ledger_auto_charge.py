"""Auto-charge through the real job runtime: outbox "charge" row -> charge actor ->
hub.ledger.charge_invoice -> the Stripe plugin -> the Stripe sandbox -> one ledger payment.

Covers issue 7's "worker dies after Stripe accepted the charge" end to end in the host, the
dunning schedule after a decline, and SCA (requires_action) being marked and reported.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import func, select

from hub.db.engine import session_scope
from hub.db.models import (
    Invoice, InvoiceStatus, Organisation, OutboxEntry, OutboxStatus, Payment,
)
from hub.db.models.sync import Effect
from hub.jobs import JobSettings, build_runtime
from hub.jobs.dispatcher import Dispatcher
from hub.ledger import post_invoice
from hub.ledger.charging import CHARGE_STATUS_FIELD

pytest.importorskip("hub_payments_stripe.plugin")
from hub_payments_stripe import profiles  # noqa: E402

FAST = JobSettings(min_backoff_seconds=0.01, max_backoff_seconds=0.05, max_attempts=6,
                   dispatch_lease_seconds=5, dispatch_interval_seconds=0.05)
TODAY = dt.date(2026, 1, 1)


@pytest.fixture
def ctx(stripe_ctx):
    return stripe_ctx


def _auto_billed_invoice(ctx, kit, payment_method: str, total: str = "120.00") -> int:
    from hub.ledger.payment_profiles import CardDetails, attach_profile

    with session_scope(ctx.engine) as s:
        org = Organisation(name="Acme", currency="USD", auto_bill=True)
        s.add(org)
        s.flush()
        invoice = Invoice(organisation_id=org.id, number="INV-1", status=InvoiceStatus.unpaid,
                          issue_date=TODAY, due_date=TODAY, currency="USD", auto_bill=True,
                          subtotal=Decimal(total), total=Decimal(total))
        s.add(invoice)
        s.flush()
        post_invoice(s, invoice)
        org_id, invoice_id = org.id, invoice.id
    customer = profiles.ensure_customer(kit.connection, org_id, name="Acme")
    card = profiles.attach_payment_method(kit.connection, customer, payment_method)
    with session_scope(ctx.engine) as s:
        attach_profile(s, organisation_id=org_id, connection=kit.connection.name,
                       customer_ref=customer, payment_method_ref=card.payment_method_ref,
                       card=CardDetails(card.brand, card.last4, card.exp_month, card.exp_year))
        s.add(OutboxEntry(effect=Effect.charge, document_kind="invoice", document_id=invoice_id,
                          connection=kit.connection.name))
    return invoice_id


def _run_until_settled(ctx, timeout: float = 30.0) -> None:
    """Run the runtime until the first charge attempt's row is settled (later dunning
    attempts wait for their day)."""
    runtime = build_runtime(ctx, broker=StubBroker(), settings=FAST)
    runtime.start_worker(2)
    dispatcher = Dispatcher(runtime).start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with session_scope(ctx.engine) as s:
                open_rows = s.execute(select(func.count()).select_from(OutboxEntry).where(
                    OutboxEntry.effect == Effect.charge, OutboxEntry.generation == 0,
                    OutboxEntry.status.in_([OutboxStatus.pending, OutboxStatus.dispatched]))
                ).scalar()
            if open_rows == 0:
                return
            time.sleep(0.05)
        raise AssertionError("charge rows still open")
    finally:
        dispatcher.stop()
        runtime.close()


def test_worker_losing_stripes_answer_still_ends_with_one_charge_and_one_payment(ctx, kit):
    invoice_id = _auto_billed_invoice(ctx, kit, "pm_card_visa")
    # Stripe charges, then the answer is lost twice (dropped, then a 500 after it acted):
    kit.network.drop_response(lambda r: r.url.path == "/v1/payment_intents")
    kit.sandbox.inject(500, path_prefix="/v1/payment_intents", after_commit=True)
    _run_until_settled(ctx)
    assert len(kit.sandbox.charges()) == 1
    with session_scope(ctx.engine) as s:
        rows = s.execute(select(OutboxEntry)).scalars().all()
        assert [(r.status, r.last_error) for r in rows] == [(OutboxStatus.done, None)], rows
        [payment] = s.execute(select(Payment)).scalars().all()
        assert payment.amount == Decimal("120.00") and payment.processor == kit.connection.name
        invoice = s.get(Invoice, invoice_id)
        assert invoice.status == InvoiceStatus.paid
        assert invoice.extra_fields[CHARGE_STATUS_FIELD]["status"] == "succeeded"
    # Stripe's webhooks for that charge, delivered three times, add nothing.
    from hub.ledger import apply_payment_event

    events = kit.deliver(kit.sandbox.webhooks.scramble(kit.sandbox.webhooks.take(), copies=3,
                                                       seed=3))
    assert events, "the sandbox should have sent payment_intent events"
    with session_scope(ctx.engine) as s:
        for event in events:
            apply_payment_event(s, kit.connection.name, event, today=TODAY)
    with session_scope(ctx.engine) as s:
        assert s.execute(select(func.count()).select_from(Payment)).scalar() == 1


def test_declined_card_schedules_the_next_dunning_attempt(ctx, kit):
    invoice_id = _auto_billed_invoice(ctx, kit, "pm_card_chargeDeclined")
    _run_until_settled(ctx)
    with session_scope(ctx.engine) as s:
        rows = s.execute(select(OutboxEntry).where(OutboxEntry.effect == Effect.charge)
                         .order_by(OutboxEntry.generation)).scalars().all()
        assert [r.status for r in rows] == [OutboxStatus.failed, OutboxStatus.pending]
        assert "declined" in (rows[0].last_error or "").lower()
        assert rows[1].payload["attempt"] == 2
        assert rows[1].available_at.replace(tzinfo=dt.timezone.utc) > dt.datetime.now(dt.timezone.utc)
        assert s.execute(select(func.count()).select_from(Payment)).scalar() == 0
        invoice = s.get(Invoice, invoice_id)
        assert invoice.status == InvoiceStatus.unpaid
        assert invoice.extra_fields[CHARGE_STATUS_FIELD]["status"] == "declined"


def test_card_needing_authentication_marks_the_invoice_and_reports_it(ctx, kit):
    invoice_id = _auto_billed_invoice(ctx, kit, "pm_card_authenticationRequired")
    _run_until_settled(ctx)
    with session_scope(ctx.engine) as s:
        invoice = s.get(Invoice, invoice_id)
        assert invoice.extra_fields[CHARGE_STATUS_FIELD]["status"] == "requires_action"
        [row] = s.execute(select(OutboxEntry)).scalars().all()
        assert row.status == OutboxStatus.failed and "authenticate" in row.last_error
        assert s.execute(select(func.count()).select_from(Payment)).scalar() == 0


def test_refund_requested_in_the_hub_goes_to_stripe_and_comes_back_once(ctx, kit):
    from hub.ledger import apply_payment_event, request_refund

    _auto_billed_invoice(ctx, kit, "pm_card_visa")
    _run_until_settled(ctx)
    with session_scope(ctx.engine) as s:
        [payment] = s.execute(select(Payment)).scalars().all()
        request_refund(s, payment.id, "20.00", reason="goodwill")
    runtime = build_runtime(ctx, broker=StubBroker(), settings=FAST)
    runtime.start_worker(2)
    dispatcher = Dispatcher(runtime).start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with session_scope(ctx.engine) as s:
                row = s.execute(select(OutboxEntry).where(OutboxEntry.effect == Effect.refund)
                                ).scalar_one()
                if row.status in (OutboxStatus.done, OutboxStatus.failed):
                    break
            time.sleep(0.05)
    finally:
        dispatcher.stop()
        runtime.close()
    assert row.status == OutboxStatus.done, row.last_error
    # the refund's webhooks arrive too (twice): still one refund in the ledger
    events = kit.deliver(kit.sandbox.webhooks.scramble(kit.sandbox.webhooks.take(), copies=2,
                                                       seed=5))
    with session_scope(ctx.engine) as s:
        for event in events:
            apply_payment_event(s, kit.connection.name, event, today=TODAY)
    with session_scope(ctx.engine) as s:
        amounts = sorted(p.amount for p in s.execute(select(Payment)).scalars().all())
        assert amounts == [Decimal("-20.00"), Decimal("120.00")]
