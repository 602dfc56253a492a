"""Property tests: random sequences of invoices, payments, refunds, credit notes, account credit,
deletions, future items and WIP in USD, EUR and JPY, with amounts of 0 to 3 decimals; after
every step the ledger identities hold, no stored amount is finer than its currency's minor unit,
and a refused step wrote nothing."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlmodel import Session, select

from hub.db.models import (
    Allocation, CreditNote, FutureItem, Invoice, InvoiceStatus, Organisation, Payment, Side,
    Transaction, WipEntry,
)
from hub.core.money import is_whole_minor_units
from hub.db.minor_units import AMOUNT_COLUMNS
from hub.errors import HubError
from hub.core.money import Money
from hub.contract.records import PaymentEvent, PaymentEventKind as K
from hub.ledger import (
    CreditLine, add_future_item, add_transaction, add_wip, apply_account_credit, apply_payment_event, create_credit_note,
    delete_completely, edit_invoice, mark_deleted, record_payment, refund,
)
from hub.ledger import post_invoice
from hub.ledger._base import free_credits, is_live, open_debits

DAY = dt.date(2026, 3, 10)
NOW = dt.datetime(2026, 3, 10, tzinfo=dt.timezone.utc)
_numbers = itertools.count(1)

amounts = st.decimals(min_value=D("0.01"), max_value=D("500"), places=2)
#: Whole units, cents and a third decimal: finer than USD/EUR allow, and JPY takes only whole yen.
any_amounts = st.one_of(st.decimals(min_value=D("1"), max_value=D("500"), places=0),
                        st.decimals(min_value=D("0.01"), max_value=D("500"), places=2),
                        st.decimals(min_value=D("0.001"), max_value=D("500"), places=3))
pick = st.integers(min_value=0, max_value=50)
ops = st.one_of(
    st.tuples(st.just("invoice"), amounts, pick),
    st.tuples(st.just("pay_auto"), amounts, pick),
    st.tuples(st.just("pay_invoice"), amounts, pick),
    st.tuples(st.just("pay_split"), amounts, pick),
    st.tuples(st.just("refund"), amounts, pick),
    st.tuples(st.just("credit_note"), amounts, pick),
    st.tuples(st.just("credit_standalone"), amounts, pick),
    st.tuples(st.just("from_balance"), amounts, pick),
    st.tuples(st.just("debit"), amounts, pick),
    st.tuples(st.just("mark_deleted"), amounts, pick),
    st.tuples(st.just("delete_completely"), amounts, pick),
    st.tuples(st.just("edit_lines"), amounts, pick),
    st.tuples(st.just("card_event"), amounts, pick),
)
currency_ops = st.one_of(
    *[st.tuples(st.just(name), any_amounts, pick) for name in (
        "invoice", "pay_auto", "pay_invoice", "pay_split", "refund", "credit_note",
        "credit_standalone", "from_balance", "debit", "mark_deleted", "delete_completely",
        "card_event", "future_item", "wip")])


def _invoices(session, org_id):
    return session.exec(select(Invoice).where(Invoice.organisation_id == org_id)
                        .order_by(Invoice.id)).all()


def _step(session, org_id, op, amount, n):
    invoices = _invoices(session, org_id)
    chosen = invoices[n % len(invoices)] if invoices else None
    currency = session.get(Organisation, org_id).currency
    if op == "invoice":  # billing's totals are rounded to the minor unit
        total = Money(amount, currency).rounded().amount
        inv = Invoice(organisation_id=org_id, number=f"P{next(_numbers)}", status="draft",
                      issue_date=DAY - dt.timedelta(days=n), due_date=DAY + dt.timedelta(days=30),
                      subtotal=total, total=total, currency=currency)
        session.add(inv)
        session.flush()
        post_invoice(session, inv, today=DAY)
    elif op == "pay_auto":
        record_payment(session, org_id, amount, date=DAY)
    elif op == "pay_invoice" and chosen:
        record_payment(session, org_id, amount, date=DAY, invoice_id=chosen.id)
    elif op == "pay_split" and len(invoices) >= 2:
        due = [i for i in invoices if is_live(i) and i.amount_due > 0][:2]
        if due:
            record_payment(session, org_id, amount, date=DAY,
                           allocations={i.id: min(i.amount_due, amount / 2) for i in due})
    elif op == "refund":
        pays = session.exec(select(Payment).where(Payment.organisation_id == org_id,
                                                  Payment.amount > 0)).all()
        if pays:
            refund(session, pays[n % len(pays)].id, amount, date=DAY)
    elif op == "credit_note" and chosen:
        create_credit_note(session, invoice_id=chosen.id, lines=[CreditLine("fix", amount)],
                           date=DAY, apply=bool(n % 2))
    elif op == "credit_standalone":
        create_credit_note(session, organisation_id=org_id, lines=[CreditLine("gift", amount)],
                           date=DAY)
    elif op == "from_balance" and chosen:
        apply_account_credit(session, chosen.id, amount if n % 2 else None, today=DAY)
    elif op == "debit":
        add_transaction(session, org_id, side="debit", amount=amount, date=DAY)
    elif op == "mark_deleted" and chosen:
        mark_deleted(session, chosen.id, when=NOW)
    elif op == "delete_completely" and chosen:
        delete_completely(session, chosen.id, today=DAY)
    elif op == "edit_lines" and chosen:  # refused unless the invoice is still unpaid
        edit_invoice(session, chosen.id, {"lines": [{"description": "re-priced",
                                                     "unit_price": str(amount)}]}, today=DAY)
    elif op == "card_event" and chosen:  # processor events: success, refund, dispute
        kind, obj, related = [(K.payment_succeeded, f"pi_{n % 3}", None),
                              (K.refunded, f"re_{n}", f"pi_{n % 3}"),
                              (K.dispute_opened, f"dp_{n % 2}", f"pi_{n % 3}"),
                              (K.payment_processing, f"pi_{n % 3}", None)][n % 4]
        apply_payment_event(session, "stripe", PaymentEvent(
            event_id=f"e{next(_numbers)}", kind=kind, object_id=f"{org_id}-{obj}",
            occurred_at=NOW, invoice_id=chosen.id, amount=Money(amount, currency).rounded(),
            payment_object_id=f"{org_id}-{related}" if related else None))


    elif op == "future_item":
        add_future_item(session, org_id, description="router", created_on=DAY,
                        amount=amount if n % 2 else -amount)
    elif op == "wip":
        add_wip(session, org_id, project="p", stage="s", date=DAY, value=amount)


def _snapshot(session, org_id):
    rows = []
    for model in (Invoice, Transaction, Allocation, Payment, FutureItem, WipEntry):
        rows.append(sorted(repr(sorted(r.model_dump().items(), key=str)) for r in session.exec(
            select(model).where(model.organisation_id == org_id))))
    return rows


def _check(session, org_id):
    txs = session.exec(select(Transaction).where(Transaction.organisation_id == org_id)).all()
    allocs = session.exec(select(Allocation).where(Allocation.organisation_id == org_id)).all()
    credits = sum((t.amount for t in txs if t.side == Side.credit), D(0))
    debits = sum((t.amount for t in txs if t.side == Side.debit), D(0))
    balance = credits - debits
    live = [i for i in _invoices(session, org_id) if is_live(i)]
    free = sum((left for _, left in free_credits(session, org_id)), D(0))
    owed = sum((left for _, left in open_debits(session, org_id)), D(0))
    # balance equals credits minus debits, and also free credit minus everything still due
    assert balance == free - sum((i.amount_due for i in live), D(0)) - owed
    for inv in live:
        mine = [a for a in allocs if a.invoice_id == inv.id]
        paid = sum((a.amount for a in mine if a.kind == "payment"), D(0))
        credit = sum((a.amount for a in mine if a.kind in ("credit_note", "balance")), D(0))
        assert (inv.amount_paid, inv.credit_applied) == (paid, credit)
        assert inv.amount_due == inv.total - paid - credit >= 0
        assert inv.status != InvoiceStatus.deleted
    for inv in _invoices(session, org_id):
        if not is_live(inv):
            assert inv.status == InvoiceStatus.deleted
            assert not [a for a in allocs if a.invoice_id == inv.id]
    # nothing negative
    assert all(t.amount >= 0 for t in txs) and all(a.amount > 0 for a in allocs)
    assert all(left >= 0 for _, left in free_credits(session, org_id))
    assert all(left >= 0 for _, left in open_debits(session, org_id))
    # allocations never exceed a payment (net of its refunds' funding) or any credit
    for t in txs:
        out = sum((a.amount for a in allocs if a.source_transaction_id == t.id), D(0))
        into = sum((a.amount for a in allocs if a.target_transaction_id == t.id), D(0))
        assert out <= t.amount and into <= t.amount
    for p in session.exec(select(Payment).where(Payment.organisation_id == org_id,
                                                Payment.amount > 0)):
        to_invoices = sum((a.amount for a in allocs if a.payment_id == p.id
                           and a.kind != "refund"), D(0))
        refunded = -sum((r.amount for r in session.exec(
            select(Payment).where(Payment.refund_of_id == p.id))), D(0))
        assert to_invoices + refunded <= p.amount


def _check_minor_units(session, org_id):
    """Every stored amount of the account is a whole number of its currency's minor unit."""
    currency = session.get(Organisation, org_id).currency
    for model in (Invoice, Transaction, Payment, CreditNote, FutureItem, WipEntry):
        for row in session.exec(select(model).where(model.organisation_id == org_id)):
            assert row.currency == currency
            for name in AMOUNT_COLUMNS[model.__tablename__]:
                value = getattr(row, name)
                assert value is None or is_whole_minor_units(value, currency), (model, name, value)
    for a in session.exec(select(Allocation).where(Allocation.organisation_id == org_id)):
        assert is_whole_minor_units(a.amount, currency), a


@pytest.mark.parametrize("currency", ["USD", "EUR", "JPY"])
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(currency_ops, min_size=1, max_size=14))
def test_no_stored_amount_is_finer_than_the_minor_unit_and_identities_hold(engine, currency,
                                                                           steps):
    with Session(engine, expire_on_commit=False) as session:
        org = Organisation(name=f"prop-{currency}", currency=currency)
        session.add(org)
        session.commit()
        start = [("invoice", D("100"), 1), ("invoice", D("45.50"), 0)]
        for op, amount, n in start + steps:
            before = _snapshot(session, org.id)
            savepoint = session.begin_nested()
            try:
                _step(session, org.id, op, amount, n)
            except HubError:
                savepoint.rollback()
                session.expire_all()
                assert _snapshot(session, org.id) == before  # refused: nothing half-written
            else:
                savepoint.commit()
            _check(session, org.id)
            _check_minor_units(session, org.id)
        session.commit()


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(ops, min_size=1, max_size=14))
def test_ledger_identities_hold_after_every_step(engine, steps):
    with Session(engine, expire_on_commit=False) as session:
        org = Organisation(name="prop")
        session.add(org)
        session.commit()
        # Two invoices to start with, so that every kind of step has something to act on.
        start = [("invoice", D("100.00"), 1), ("invoice", D("45.50"), 0)]
        for op, amount, n in start + steps:
            before = _snapshot(session, org.id)
            savepoint = session.begin_nested()
            try:
                _step(session, org.id, op, amount, n)
            except HubError:
                savepoint.rollback()
                session.expire_all()
                assert _snapshot(session, org.id) == before  # refused: nothing half-written
            else:
                savepoint.commit()
            _check(session, org.id)
        session.commit()
