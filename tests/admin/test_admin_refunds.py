"""Refunding a payment from its admin page: a card payment is refunded by its processor (a
refund request, never a refund written to the books only); any other payment is refunded in the
ledger. Both refuse what the REST API refuses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import unquote_plus

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from hub import hookimpl
from hub.contract.connections import ConnectionType
from hub.contract.records import PaymentEvent, PaymentEventKind
from hub.core.money import Money
from hub.db.engine import session_scope
from hub.db.models import Invoice, OutboxEntry, Payment
from hub.db.models.sync import Effect
from hub.ledger import apply_payment_event, record_payment
from hub.web.admin.once import new_key

from .conftest import csrf_of

DAY = dt.date(2026, 1, 1)


class _NoSettings(BaseModel):
    pass


class CardProcessor:
    """A connection type that takes payments, as the Stripe plugin's does."""

    @hookimpl
    def hub_register_connection_types(self, register):
        register(ConnectionType(name="stripe", settings_model=_NoSettings,
                                capabilities=frozenset({"payments"})))


@pytest.fixture
def admin_ctx(admin_ctx, make_hub_context):
    """The admin's hub (same database, same users) with a ``stripe`` connection: the processor
    the card payments came through (a payment naming a connection that takes no payments, such
    as an accounting system it was read from, is refunded in the ledger)."""
    return make_hub_context(CardProcessor(), connections=[{"name": "stripe", "plugin": "stripe"}])


def _stripe_payment(ctx, invoice_id: int) -> int:
    """The invoice paid by card through the ``stripe`` connection, as its webhook records it."""
    with session_scope(ctx.engine) as s:
        invoice = s.get(Invoice, invoice_id)
        return apply_payment_event(s, "stripe", PaymentEvent(
            event_id="evt_1", kind=PaymentEventKind.payment_succeeded, object_id="pi_1",
            occurred_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), invoice_id=invoice.id,
            organisation_id=invoice.organisation_id, amount=Money("644.00", "USD"))).id


def _refund(client, payment_id: int, amount: str = ""):
    token = csrf_of(client.get(f"/admin/payments/{payment_id}").text)
    return client.post(f"/admin/payments/{payment_id}/refund",
                       data={"amount": amount, "reason": "goodwill", "csrf_token": token,
                             "once_key": new_key()},
                       follow_redirects=False)


def _rows(ctx):
    with session_scope(ctx.engine) as s:
        requests = [(r.connection, Decimal(r.payload["amount"])) for r in s.execute(
            select(OutboxEntry).where(OutboxEntry.effect == Effect.refund)).scalars()]
        refunds = [p.amount for p in s.execute(select(Payment).where(Payment.amount < 0))
                   .scalars()]
    return requests, refunds


def test_the_refund_of_a_stripe_payment_is_asked_of_stripe_not_written_to_the_books(
        admin_ctx, client_as, invoice_id):
    payment_id = _stripe_payment(admin_ctx, invoice_id)
    alice = client_as("alice")
    page = alice.get(f"/admin/payments/{payment_id}").text
    assert "Refund through stripe" in page
    answer = _refund(alice, payment_id, "1.00")
    assert answer.status_code == 303, answer.text
    told = unquote_plus(answer.headers["location"])
    assert "requested from stripe" in told and "recorded when stripe confirms" in told
    assert _rows(admin_ctx) == ([("stripe", Decimal("1.00"))], [])
    # the rest may still be asked for; more than that is refused and names the request
    beyond = _refund(alice, payment_id, "644.00")
    assert beyond.status_code == 409
    assert "on its way to stripe" in beyond.text and "643.00" in beyond.text
    assert _rows(admin_ctx) == ([("stripe", Decimal("1.00"))], [])
    assert _refund(alice, payment_id).status_code == 303  # empty: all that is left
    requests, refunds = _rows(admin_ctx)
    assert sorted(a for _, a in requests) == [Decimal("1.00"), Decimal("643.00")]
    assert refunds == []


def test_a_payment_not_taken_by_a_processor_is_still_refunded_in_the_ledger(
        admin_ctx, client_as, invoice_id):
    with session_scope(admin_ctx.engine) as s:
        invoice = s.get(Invoice, invoice_id)
        payment_id = record_payment(s, invoice.organisation_id, "644.00", date=DAY,
                                    method="cash", invoice_id=invoice_id).id
    alice = client_as("alice")
    assert "Refund in the ledger" in alice.get(f"/admin/payments/{payment_id}").text
    answer = _refund(alice, payment_id, "1.00")
    assert answer.status_code == 303
    assert "recorded" in unquote_plus(answer.headers["location"])
    assert _rows(admin_ctx) == ([], [Decimal("-1.00")])


def test_a_payment_read_from_an_accounting_system_is_refunded_in_the_ledger(
        admin_ctx, client_as, invoice_id):
    # Xero's and QuickBooks' payments name the connection they were read from; no money came
    # through it, and their connections take no payments: a refund request there would fail
    # at every attempt.
    with session_scope(admin_ctx.engine) as s:
        invoice = s.get(Invoice, invoice_id)
        payment = apply_payment_event(s, "books", PaymentEvent(
            event_id="xero-pay-1", kind=PaymentEventKind.payment_succeeded, object_id="p-1",
            occurred_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), invoice_id=invoice.id,
            organisation_id=invoice.organisation_id, amount=Money("644.00", "USD")))
        payment_id = payment.id
    alice = client_as("alice")
    assert "Refund in the ledger" in alice.get(f"/admin/payments/{payment_id}").text
    assert _refund(alice, payment_id, "1.00").status_code == 303
    assert _rows(admin_ctx) == ([], [Decimal("-1.00")])


def test_a_requested_refund_is_told_in_the_currencys_minor_unit(admin_ctx, client_as,
                                                                invoice_id):
    """The page said "Refund of 1.5 USD requested" for 1.5 typed, and "642.5000 USD" (the
    stored figure) for all that was left."""
    payment_id = _stripe_payment(admin_ctx, invoice_id)
    alice = client_as("alice")
    told = unquote_plus(_refund(alice, payment_id, "1.5").headers["location"])
    assert "Refund of 1.50 USD requested from stripe" in told
    told = unquote_plus(_refund(alice, payment_id).headers["location"])
    assert "Refund of 642.50 USD requested from stripe" in told


def test_a_refund_asked_of_the_processor_shows_on_the_payment_until_it_is_confirmed(
        admin_ctx, client_as, invoice_id):
    """After a request the payment page said "Refunds: none" and nothing else: a clerk could
    not see that a refund was on its way."""
    payment_id = _stripe_payment(admin_ctx, invoice_id)
    alice = client_as("alice")
    assert "not yet confirmed" not in alice.get(f"/admin/payments/{payment_id}").text
    assert _refund(alice, payment_id, "12.5").status_code == 303
    page = alice.get(f"/admin/payments/{payment_id}").text
    assert "Refunds asked of stripe, not yet confirmed" in page
    assert "12.50 USD (outbox row" in page
