"""Refunds of a card payment asked of Stripe through the REST API and the CLI: what may still be
refunded is what was paid, less the refunds in the ledger, less the requests on their way.

Each test takes a real payment in the Stripe sandbox, asks for refunds with
``POST /payments/{id}/refund`` and runs the refund jobs through the job runtime (outbox row ->
``refund_payment`` actor -> the Stripe plugin -> the sandbox -> the ledger).
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import func, select

from hub.contract.records import PaymentEvent, PaymentEventKind
from hub.core.money import Money
from hub.db.engine import session_scope
from hub.db.models import Invoice, InvoiceStatus, Organisation, OutboxEntry, OutboxStatus, Payment
from hub.db.models.ledger import PaymentStatus
from hub.db.models.sync import Effect
from hub.jobs import JobSettings, build_runtime
from hub.jobs.dispatcher import Dispatcher
from hub.ledger import apply_payment_event, post_invoice
from hub.testing.api import api_client

pytest.importorskip("hub_payments_stripe.plugin")
from hub_payments_stripe import profiles  # noqa: E402
from hub_payments_stripe.charges import charge_payment_method  # noqa: E402

FAST = JobSettings(min_backoff_seconds=0.01, max_backoff_seconds=0.05, max_attempts=6,
                   dispatch_lease_seconds=5, dispatch_interval_seconds=0.05)
TODAY = dt.date(2026, 1, 1)


@pytest.fixture
def ctx(stripe_ctx):
    return stripe_ctx


@pytest.fixture
def client(ctx):
    with api_client(ctx, "refunds") as client:
        yield client


def _posted_invoice(ctx, total: str) -> tuple[int, int]:
    """An organisation with one posted, unpaid invoice of ``total`` USD: (its id, the invoice's)."""
    with session_scope(ctx.engine) as s:
        org = Organisation(name="Acme", currency="USD")
        s.add(org)
        s.flush()
        invoice = Invoice(organisation_id=org.id, number="INV-1", status=InvoiceStatus.unpaid,
                          issue_date=TODAY, due_date=TODAY, currency="USD",
                          subtotal=Decimal(total), total=Decimal(total))
        s.add(invoice)
        s.flush()
        post_invoice(s, invoice)
        return org.id, invoice.id


def _card_payment(ctx, kit, total: str = "120.00", token: str = "pm_card_visa") -> int:
    """An invoice of ``total`` paid by card in the sandbox and recorded from Stripe's answer,
    as an auto-charge does; returns the ledger payment's id."""
    from hub.contract.records import ChargeRequest

    org_id, invoice_id = _posted_invoice(ctx, total)
    customer = profiles.ensure_customer(kit.connection, org_id, name="Acme")
    card = profiles.attach_payment_method(kit.connection, customer, token)
    intent = charge_payment_method(kit.connection, ChargeRequest(
        invoice_id=invoice_id, invoice_number="INV-1", organisation_id=org_id,
        amount=Money(total, "USD"), customer_ref=customer,
        payment_method_ref=card.payment_method_ref, attempt=1,
        idempotency_key=f"charge-{invoice_id}")).object_id
    if token == "pm_usBankAccount":
        kit.sandbox.settle(intent)
    kit.sandbox.webhooks.take()  # the charge's own webhooks are not under test here
    with session_scope(ctx.engine) as s:
        payment = apply_payment_event(s, kit.connection.name, PaymentEvent(
            event_id=f"charge:{intent}", kind=PaymentEventKind.payment_succeeded,
            object_id=intent, occurred_at=ctx.clock(), invoice_id=invoice_id,
            organisation_id=org_id, amount=Money(total, "USD")))
        return payment.id


def _run_refund_jobs(ctx, timeout: float = 30.0) -> None:
    """Run the job runtime until every refund request is done or failed."""
    runtime = build_runtime(ctx, broker=StubBroker(), settings=FAST)
    runtime.start_worker(2)
    dispatcher = Dispatcher(runtime).start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with session_scope(ctx.engine) as s:
                open_rows = s.execute(select(func.count()).select_from(OutboxEntry).where(
                    OutboxEntry.effect == Effect.refund,
                    OutboxEntry.status.in_([OutboxStatus.pending, OutboxStatus.dispatched]))
                ).scalar()
            if open_rows == 0:
                return
            time.sleep(0.05)
        raise AssertionError("refund rows still open")
    finally:
        dispatcher.stop()
        runtime.close()


def _requests(ctx) -> list[tuple[str, OutboxStatus]]:
    with session_scope(ctx.engine) as s:
        return [(r.payload["amount"], r.status) for r in s.execute(
            select(OutboxEntry).where(OutboxEntry.effect == Effect.refund)
            .order_by(OutboxEntry.id)).scalars()]


def _ledger_refunds(ctx) -> list[Decimal]:
    with session_scope(ctx.engine) as s:
        return [p.amount for p in s.execute(select(Payment).where(
            Payment.amount < 0, Payment.status == PaymentStatus.succeeded)
            .order_by(Payment.id)).scalars()]


def _refund(client, payment_id: int, amount: str | None = None):
    return client.post(f"/payments/{payment_id}/refund",
                       json={} if amount is None else {"amount": amount})


def test_a_second_full_refund_is_refused_while_the_first_is_pending(ctx, kit, client):
    payment_id = _card_payment(ctx, kit)
    first = _refund(client, payment_id)
    assert first.status_code == 201, first.text
    assert first.json()["requested"] is True
    assert Decimal(first.json()["amount"]) == Decimal("120.00")
    for amount in (None, "120.00", "1.00"):
        again = _refund(client, payment_id, amount)
        assert again.status_code == 409, again.text
        detail = again.json()["detail"]
        assert "120" in detail and "on its way to" in detail and "nothing is left" in detail
        assert "wait until" in detail  # says what to do
    assert len(_requests(ctx)) == 1 and _ledger_refunds(ctx) == []
    _run_refund_jobs(ctx)
    assert _ledger_refunds(ctx) == [Decimal("-120.00")]
    assert len(kit.sandbox.store["refund"]) == 1  # the card was refunded once
    done = _refund(client, payment_id, "1.00")
    assert done.status_code == 422, done.text
    assert "nothing is left to refund of payment" in done.json()["detail"]
    assert "between" not in done.json()["detail"] and "0.0000" not in done.json()["detail"]


def test_partial_requests_adding_up_beyond_the_payment_are_refused(ctx, kit, client):
    payment_id = _card_payment(ctx, kit)
    assert _refund(client, payment_id, "50.00").status_code == 201
    assert _refund(client, payment_id, "60.00").status_code == 201
    beyond = _refund(client, payment_id, "20.00")
    assert beyond.status_code == 409, beyond.text
    detail = beyond.json()["detail"]
    assert "only 10.00 USD is left" in detail  # what is still left, in the minor unit
    assert ": 50.00 USD, " in detail and "ask for at most 10.00 USD now" in detail
    assert "0000" not in detail
    rest = _refund(client, payment_id)  # no amount: what is left, not the whole payment
    assert rest.status_code == 201 and Decimal(rest.json()["amount"]) == Decimal("10.00")
    assert [Decimal(a) for a, _ in _requests(ctx)] == [Decimal("50"), Decimal("60"),
                                                      Decimal("10")]
    _run_refund_jobs(ctx)
    assert sorted(_ledger_refunds(ctx)) == [Decimal("-60"), Decimal("-50"), Decimal("-10")]


def test_a_request_is_allowed_again_after_the_earlier_one_failed(ctx, kit, client):
    payment_id = _card_payment(ctx, kit)
    kit.sandbox.inject(400, path_prefix="/v1/refunds")  # Stripe refuses the first refund
    assert _refund(client, payment_id).status_code == 201
    _run_refund_jobs(ctx)
    assert [s for _, s in _requests(ctx)] == [OutboxStatus.failed]
    again = _refund(client, payment_id)
    assert again.status_code == 201, again.text
    assert Decimal(again.json()["amount"]) == Decimal("120.00")
    _run_refund_jobs(ctx)
    assert [s for _, s in _requests(ctx)] == [OutboxStatus.failed, OutboxStatus.done]
    assert _ledger_refunds(ctx) == [Decimal("-120.00")]


def test_a_recorded_refund_is_counted_once_whichever_way_it_came(ctx, kit, client):
    payment_id = _card_payment(ctx, kit)
    assert _refund(client, payment_id, "50.00").status_code == 201
    _run_refund_jobs(ctx)  # Stripe answers succeeded: the job records the refund
    events = kit.deliver(kit.sandbox.webhooks.scramble(kit.sandbox.webhooks.take(), copies=2,
                                                       seed=7))
    with session_scope(ctx.engine) as s:  # and its webhooks, twice, add nothing
        for event in events:
            apply_payment_event(s, kit.connection.name, event, today=TODAY)
    assert _ledger_refunds(ctx) == [Decimal("-50.00")]
    rest = _refund(client, payment_id, "70.00")  # all that is left, not 70 - 50 again
    assert rest.status_code == 201, rest.text
    assert _refund(client, payment_id, "0.01").status_code == 409


def test_a_pending_bank_refund_counts_until_stripe_confirms_it_then_once(ctx, kit, client):
    payment_id = _card_payment(ctx, kit, token="pm_usBankAccount")
    assert _refund(client, payment_id, "100.00").status_code == 201
    _run_refund_jobs(ctx)  # Stripe answers pending: the job is done, the ledger waits
    assert [s for _, s in _requests(ctx)] == [OutboxStatus.done]
    assert _ledger_refunds(ctx) == []
    assert _refund(client, payment_id, "20.01").status_code == 409
    [refund_id] = kit.sandbox.store["refund"]
    kit.sandbox.settle_refund(refund_id)
    with session_scope(ctx.engine) as s:
        for event in kit.deliver(kit.sandbox.webhooks.take()):
            apply_payment_event(s, kit.connection.name, event, today=TODAY)
    assert _ledger_refunds(ctx) == [Decimal("-100.00")]
    assert _refund(client, payment_id, "20.01").status_code == 422  # beyond what was paid
    assert _refund(client, payment_id, "20.00").status_code == 201


def test_the_cli_refuses_a_second_request_with_the_same_check(ctx, kit):
    from typer.testing import CliRunner

    from hub.cli import state as cli_state
    from hub.cli.main import build_app
    from hub.errors import DocumentRefused

    payment_id = _card_payment(ctx, kit)
    cli_state.reset()
    cli_state.state._settings, cli_state.state._context = ctx.settings, ctx
    try:
        runner, app = CliRunner(), build_app(with_plugins=False)
        first = runner.invoke(app, ["payment", "refund", str(payment_id)])
        assert first.exit_code == 0, first.output
        assert f"requested from {kit.connection.name}" in first.output
        again = runner.invoke(app, ["payment", "refund", str(payment_id), "--amount", "1"])
        assert isinstance(again.exception, DocumentRefused)
        assert "on its way to" in again.exception.user_message()
    finally:
        cli_state.reset()
    assert len(_requests(ctx)) == 1 and _ledger_refunds(ctx) == []


def _deliver_webhooks(ctx, kit) -> None:
    with session_scope(ctx.engine) as s:
        for event in kit.deliver(kit.sandbox.webhooks.take()):
            apply_payment_event(s, kit.connection.name, event, today=TODAY)


def test_a_pending_refund_that_fails_frees_its_amount_again(ctx, kit, client):
    """It used to stay 'on its way' for ever: the payment could never be refunded again."""
    payment_id = _card_payment(ctx, kit, token="pm_usBankAccount")
    assert _refund(client, payment_id, "100.00").status_code == 201
    _run_refund_jobs(ctx)  # Stripe answers pending
    assert _refund(client, payment_id, "20.01").status_code == 409
    [refund_id] = kit.sandbox.store["refund"]
    kit.sandbox.settle_refund(refund_id, succeed=False, failure_reason="declined")
    _deliver_webhooks(ctx, kit)
    assert _ledger_refunds(ctx) == []  # no money moved
    with session_scope(ctx.engine) as s:
        [row] = s.execute(select(OutboxEntry).where(OutboxEntry.effect == Effect.refund)
                          ).scalars()
        assert row.payload["refund_failed"] == "declined"
    again = _refund(client, payment_id)
    assert again.status_code == 201, again.text
    assert Decimal(again.json()["amount"]) == Decimal("120.00")


def test_a_refund_that_fails_after_it_succeeded_reinstates_the_payment_once(ctx, kit, client):
    payment_id = _card_payment(ctx, kit)
    assert _refund(client, payment_id, "50.00").status_code == 201
    _run_refund_jobs(ctx)  # succeeded: recorded
    kit.sandbox.webhooks.take()
    assert _ledger_refunds(ctx) == [Decimal("-50.00")]
    [refund_id] = kit.sandbox.store["refund"]
    kit.sandbox.settle_refund(refund_id, succeed=False)  # days later: the card was closed
    events = kit.deliver(kit.sandbox.webhooks.scramble(kit.sandbox.webhooks.take(), copies=2,
                                                       seed=3))
    with session_scope(ctx.engine) as s:
        for event in events:
            apply_payment_event(s, kit.connection.name, event, today=TODAY)
    with session_scope(ctx.engine) as s:
        back = s.execute(select(Payment).where(
            Payment.processor_object_id == f"{refund_id}:failed")).scalars().all()
        assert [p.amount for p in back] == [Decimal("50.00")]  # once, for two deliveries
        assert "expired_or_canceled_card" in back[0].note
        invoice = s.execute(select(Invoice)).scalars().one()
        assert invoice.status == InvoiceStatus.paid  # the 50.00 pays it again
    assert Decimal(_refund(client, payment_id).json()["amount"]) == Decimal("120.00")


@pytest.mark.parametrize("payment_first", [True, False])
def test_a_refund_whose_failure_arrives_before_its_success_gives_nothing_back(ctx, kit,
                                                                             payment_first):
    """Stripe does not promise order: failed, then (late) succeeded, of one refund; also
    before the payment itself is known. The money never left: nothing is given back."""
    org_id, invoice_id = _posted_invoice(ctx, "100")

    def event(kind, object_id, amount="40.00", **extra):
        return PaymentEvent(event_id=f"{kind}:{object_id}", kind=kind, object_id=object_id,
                            occurred_at=ctx.clock(), invoice_id=invoice_id,
                            organisation_id=org_id, amount=Money(amount, "USD"), **extra)

    paid = event(PaymentEventKind.payment_succeeded, "pi_1", "100.00", payment_object_id="pi_1")
    failed = event(PaymentEventKind.refund_failed, "re_1", payment_object_id="pi_1",
                   message="declined")
    succeeded = event(PaymentEventKind.refunded, "re_1", payment_object_id="pi_1")
    order = [paid, failed, succeeded] if payment_first else [failed, succeeded, paid]
    with session_scope(ctx.engine) as s:
        for e in order:
            apply_payment_event(s, kit.connection.name, e, today=TODAY)
    assert _ledger_refunds(ctx) == []
    with session_scope(ctx.engine) as s:
        rows = s.execute(select(Payment).where(Payment.amount < 0)).scalars().all()
        assert [r.status.value for r in rows] == ["failed"]
        assert s.get(Invoice, invoice_id).status == InvoiceStatus.paid


def test_a_refund_request_is_in_the_payments_history_and_a_refused_one_is_not(ctx, kit, client):
    """Asking the processor for a refund is what a person did: it is audited on the payment
    when asked (the ledger's own refund event follows the processor's confirmation); a refused
    second request leaves no event."""
    from hub import audit

    payment_id = _card_payment(ctx, kit)
    assert client.post(f"/payments/{payment_id}/refund",
                       json={"amount": "20.50", "reason": "one seat too many"}).status_code == 201
    assert _refund(client, payment_id, "500.00").status_code == 409  # more than is left
    with session_scope(ctx.engine) as s:
        events = audit.list_events(s, target_type="payment", target_id=payment_id).events
    asked = [e for e in events if e.action == "payment.refund_requested"]
    assert len(asked) == 1, [e.action for e in events]
    assert asked[0].summary.startswith("20.50 USD refund requested from ")
    assert asked[0].summary.endswith(": one seat too many")
