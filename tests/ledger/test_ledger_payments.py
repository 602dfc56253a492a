"""Seed 000 (Syncro) and seed 002 (Splynx) payment examples, each a named test."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from sqlmodel import select

from hub.db.models import InvoiceStatus, OutboxEntry, Payment
from hub.errors import DocumentDeleted, ValidationFailed
from hub.ledger import (
    account_summary, add_transaction, allocate_payment, apply_account_credit, balance,
    links_of_invoice, links_of_payment, mark_deleted, mark_paid, record_payment, refund,
    refund_from_balance,
)

DAY = dt.date(2026, 3, 5)
NOW = dt.datetime(2026, 3, 5, 12, tzinfo=dt.timezone.utc)


def test_splynx_example_1_partial_payment_then_overpayment_goes_to_balance(session, org,
                                                                           make_invoice):
    inv = make_invoice("120.00")
    record_payment(session, org.id, "50", date=DAY, invoice_id=inv.id)
    assert inv.status == InvoiceStatus.partially_paid
    assert inv.amount_due == D("70")
    record_payment(session, org.id, "100", date=DAY, invoice_id=inv.id)
    assert inv.status == InvoiceStatus.paid and inv.amount_due == 0
    assert inv.amount_paid == D("120")  # never overpaid: the excess is on the account
    assert balance(session, org.id) == D("30")
    assert account_summary(session, org.id)["credit"] == D("30")


def test_splynx_example_2_open_debit_transaction_is_paid_before_the_invoice(session, org,
                                                                            make_invoice):
    add_transaction(session, org.id, side="debit", amount="100", date=dt.date(2026, 3, 1),
                    description="+Debit")
    inv = make_invoice("50.00", issue=dt.date(2026, 2, 1), due=dt.date(2026, 4, 1))
    first = record_payment(session, org.id, "100", date=DAY)
    assert inv.status == InvoiceStatus.unpaid
    assert links_of_invoice(session, inv.id)["payments"] == []  # no related payments
    assert links_of_payment(session, first.id)["invoices"] == []
    second = record_payment(session, org.id, "50", date=DAY)
    assert inv.status == InvoiceStatus.paid
    assert [p["id"] for p in links_of_invoice(session, inv.id)["payments"]] == [second.id]
    assert balance(session, org.id) == 0


def test_splynx_several_unpaid_invoices_are_paid_in_order_of_creation(session, org, make_invoice):
    # Seed 002: "the invoices will be paid in the order of their creation" - not by document
    # date: the invoice created first is paid first even though the second is dated earlier.
    first = make_invoice("30", issue=dt.date(2026, 3, 2), due=dt.date(2026, 4, 30))
    back_dated = make_invoice("40", issue=dt.date(2026, 2, 1), due=dt.date(2026, 4, 30))
    record_payment(session, org.id, "50", date=DAY)
    assert first.status == InvoiceStatus.paid
    assert back_dated.status == InvoiceStatus.partially_paid and back_dated.amount_due == D("20")


def test_syncro_full_payment_by_check(session, org, make_invoice):
    inv = make_invoice("250.00")
    pay = record_payment(session, org.id, "250.00", date=DAY, method="check", invoice_id=inv.id)
    assert pay.method == "check" and inv.status == InvoiceStatus.paid
    assert balance(session, org.id) == 0


def test_syncro_partial_payment(session, org, make_invoice):
    inv = make_invoice("250.00")
    record_payment(session, org.id, "100.00", date=DAY, method="cash", invoice_id=inv.id)
    assert inv.status == InvoiceStatus.partially_paid and inv.amount_due == D("150")


def test_syncro_overpayment_becomes_store_credit(session, org, make_invoice):
    inv = make_invoice("80.00")
    record_payment(session, org.id, "100.00", date=DAY, method="card", invoice_id=inv.id)
    assert inv.status == InvoiceStatus.paid and inv.amount_paid == D("80")
    assert account_summary(session, org.id)["credit"] == D("20")


def test_syncro_split_one_payment_across_several_invoices(session, org, make_invoice):
    a, b, c = make_invoice("100"), make_invoice("60"), make_invoice("40")
    pay = record_payment(session, org.id, "150", date=DAY, method="bank_transfer",
                         allocations={a.id: "100", b.id: "30", c.id: "20"})
    assert (a.status, b.status, c.status) == (InvoiceStatus.paid, InvoiceStatus.partially_paid,
                                              InvoiceStatus.partially_paid)
    assert {i["id"] for i in links_of_payment(session, pay.id)["invoices"]} == {a.id, b.id, c.id}


def test_manual_allocation_cannot_overpay_an_invoice_and_writes_nothing(session, org, make_invoice):
    a = make_invoice("100")
    with pytest.raises(ValidationFailed, match="never overpaid"):
        record_payment(session, org.id, "150", date=DAY, allocations={a.id: "120"})
    assert session.exec(select(Payment)).all() == []


def test_syncro_quick_mark_paid(session, org, make_invoice):
    inv = make_invoice("75.50")
    record_payment(session, org.id, "20", date=DAY, invoice_id=inv.id)
    pay = mark_paid(session, inv.id, date=DAY, method="cash")
    assert pay.amount == D("55.50") and inv.status == InvoiceStatus.paid
    with pytest.raises(ValidationFailed, match="nothing due"):
        mark_paid(session, inv.id, date=DAY)


def test_allocate_unallocated_payment_later(session, org, make_invoice):
    pay = record_payment(session, org.id, "90", date=DAY)  # nothing due: all account credit
    inv = make_invoice("60")
    allocate_payment(session, pay.id, {inv.id: "60"}, today=DAY)
    assert inv.status == InvoiceStatus.paid and account_summary(session, org.id)["credit"] == 30


def test_paid_from_balance(session, org, make_invoice):
    record_payment(session, org.id, "200", date=DAY)
    inv = make_invoice("150")
    apply_account_credit(session, inv.id, today=DAY)
    assert inv.status == InvoiceStatus.paid_from_balance and inv.credit_applied == D("150")
    assert balance(session, org.id) == D("50")


def test_refund_is_a_negative_payment_and_reopens_the_invoice(session, org, make_invoice):
    inv = make_invoice("100")
    pay = record_payment(session, org.id, "100", date=DAY, method="card", invoice_id=inv.id)
    back = refund(session, pay.id, "40", date=DAY, reason="goodwill")
    assert back.amount == D("-40") and back.refund_of_id == pay.id
    assert inv.status == InvoiceStatus.partially_paid and inv.amount_due == D("40")
    assert balance(session, org.id) == D("-40")
    # In the currency's minor unit, from the smallest refund (not 0, which is refused too).
    with pytest.raises(ValidationFailed, match="between 0.01 USD and 60.00 USD"):
        refund(session, pay.id, "61", date=DAY)


def test_refund_uses_unallocated_credit_first(session, org, make_invoice):
    inv = make_invoice("80")
    pay = record_payment(session, org.id, "100", date=DAY, invoice_id=inv.id)
    refund(session, pay.id, "20", date=DAY)
    assert inv.status == InvoiceStatus.paid and balance(session, org.id) == 0


def test_refund_from_balance_needs_credit(session, org):
    record_payment(session, org.id, "30", date=DAY)
    refund_from_balance(session, org.id, "30", date=DAY)
    assert balance(session, org.id) == 0
    with pytest.raises(ValidationFailed, match="credit"):
        refund_from_balance(session, org.id, "1", date=DAY)


def test_payment_on_a_deleted_invoice_is_refused(session, org, make_invoice):
    inv = make_invoice("10")
    mark_deleted(session, inv.id, when=NOW)
    with pytest.raises(DocumentDeleted):
        record_payment(session, org.id, "10", date=DAY, invoice_id=inv.id)


def test_finalised_payment_and_refund_write_one_outbox_row_per_accounting_connection(
        session, org, make_invoice):
    inv = make_invoice("10")
    pay = record_payment(session, org.id, "10", date=DAY, invoice_id=inv.id,
                         push_to=["xero", "xero-2"])
    back = refund(session, pay.id, date=DAY, push_to=["xero"])
    rows = session.exec(select(OutboxEntry).where(OutboxEntry.document_kind == "payment")).all()
    assert sorted((r.document_id, r.connection, r.effect) for r in rows) == [
        (pay.id, "xero", "push"), (pay.id, "xero-2", "push"), (back.id, "xero", "push")]


def test_payment_methods_are_named(session, org):
    with pytest.raises(ValidationFailed, match="unknown payment method"):
        record_payment(session, org.id, "5", date=DAY, method="bitcoin-ish")
    assert record_payment(session, org.id, "5", date=DAY, method="bank_transfer").method == \
        "bank_transfer"


def test_post_invoice_takes_a_list_and_is_idempotent(session, org):
    from hub.db.models import Invoice, Transaction
    from hub.ledger import post_invoice

    invoices = [Invoice(organisation_id=org.id, number=f"L{i}", issue_date=DAY, due_date=DAY,
                        subtotal=D("10"), total=D("10")) for i in range(2)]
    session.add_all(invoices)
    session.flush()
    first = post_invoice(session, invoices)
    again = post_invoice(session, invoices)
    assert [t.id for t in first] == [t.id for t in again]
    assert len(session.exec(select(Transaction)).all()) == 2
    assert all(i.status == InvoiceStatus.unpaid for i in invoices)
    assert balance(session, org.id) == D("-20")
