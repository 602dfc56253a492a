"""Credit notes with allocations, payments and reversals, voids, and the pull back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hub import DocumentRef, Money, PushStatus

from hub_accounting_xero import plugin
from hub_accounting_xero.testing import connected, credit_note_doc, invoice_doc, payment_doc


def push_one(conn, invoice):
    [outcome] = plugin.hub_push_invoices(connection=conn, invoices=[invoice])
    assert outcome.status is PushStatus.synced
    return outcome.external_id


def test_credit_note_is_created_and_applied_once(sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    inv = invoice_doc(1)  # 135.00
    xero_invoice = push_one(conn, inv)
    note = credit_note_doc(1, invoice=inv, amount="20.00", allocate="20.00")
    [outcome] = plugin.hub_push_credit_notes(connection=conn, credit_notes=[note])
    assert outcome.status is PushStatus.synced
    books = sandbox.books()
    stored = books.credit_notes[outcome.external_id]
    assert stored["Type"] == "ACCRECCREDIT" and stored["Reference"] == "INV-00001"
    assert books.invoices[xero_invoice]["AmountDue"] == Decimal("115.00")
    # a second push (a job that ran twice) neither creates nor applies again
    assert plugin.hub_push_credit_notes(connection=conn, credit_notes=[note]) == [outcome]
    assert len(books.credit_notes) == 1 and books.invoices[xero_invoice]["AmountDue"] == Decimal("115.00")


def test_lost_allocation_answer_is_looked_up_not_applied_twice(sandbox, xero_url):
    conn = connected(sandbox, xero_url, timeout_seconds=0.5)
    inv = invoice_doc(1)
    xero_invoice = push_one(conn, inv)
    sandbox.inject("slow", path="/Allocations$", seconds=1.5, after=True)
    note = credit_note_doc(1, invoice=inv, amount="10.00", allocate="10.00")
    [first] = plugin.hub_push_credit_notes(connection=conn, credit_notes=[note])
    assert first.status is PushStatus.retry and first.external_id
    sandbox.forget_idempotency_keys()
    [second] = plugin.hub_push_credit_notes(connection=conn, credit_notes=[note])
    assert second.status is PushStatus.synced
    assert sandbox.books().invoices[xero_invoice]["AmountDue"] == Decimal("125.00")


def test_credit_note_waits_for_its_invoice(sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    inv = invoice_doc(1)
    note = credit_note_doc(1, invoice=inv, allocate="5.00")
    [outcome] = plugin.hub_push_credit_notes(connection=conn, credit_notes=[note])
    assert outcome.status is PushStatus.retry and "not at Xero yet" in outcome.message
    push_one(conn, inv)
    [outcome] = plugin.hub_push_credit_notes(connection=conn, credit_notes=[note])
    assert outcome.status is PushStatus.synced
    assert len(sandbox.books().credit_notes) == 1


def test_payments_overpayment_rejected_and_reversal_deletes(sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    inv = invoice_doc(1)  # 135.00
    xero_invoice = push_one(conn, inv)
    paid, too_much = plugin.hub_push_payments(connection=conn, payments=[
        payment_doc(1, inv, "100.00", reference="bank 42"), payment_doc(2, inv, "50.00")])
    assert paid.status is PushStatus.synced
    assert too_much.status is PushStatus.rejected
    assert too_much.message == "Payment amount exceeds the amount outstanding on this document."
    books = sandbox.books()
    assert books.payments[paid.external_id]["Reference"] == "HUB-PAY-1 bank 42"
    assert books.invoices[xero_invoice]["AmountDue"] == Decimal("35.00")
    [reversal] = plugin.hub_push_payments(connection=conn, payments=[
        payment_doc(3, inv, "-100.00", reversal_of=1)])
    assert reversal.status is PushStatus.synced and reversal.external_id == paid.external_id
    assert books.payments[paid.external_id]["Status"] == "DELETED"
    assert books.invoices[xero_invoice]["AmountDue"] == Decimal("135.00")
    # running the reversal again is harmless
    [again] = plugin.hub_push_payments(connection=conn, payments=[
        payment_doc(3, inv, "-100.00", reversal_of=1)])
    assert again.status is PushStatus.synced
    [refund] = plugin.hub_push_payments(connection=conn, payments=[payment_doc(4, inv, "-5.00")])
    assert refund.status is PushStatus.rejected and "credit note" in refund.message


def test_lost_payment_answer_is_looked_up_by_reference(sandbox, xero_url):
    conn = connected(sandbox, xero_url, timeout_seconds=0.5)
    inv = invoice_doc(1)
    push_one(conn, inv)
    sandbox.inject("drop", method="PUT", path="^/Payments$", after=True)
    pay = payment_doc(1, inv, "35.00")
    [first] = plugin.hub_push_payments(connection=conn, payments=[pay])
    assert first.status is PushStatus.retry
    sandbox.forget_idempotency_keys()
    [second] = plugin.hub_push_payments(connection=conn, payments=[pay])
    assert second.status is PushStatus.synced
    assert len(sandbox.books().payments) == 1


def test_void_authorised_invoice_but_not_one_with_payments(sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    a, b = invoice_doc(1), invoice_doc(2)
    xa, xb = push_one(conn, a), push_one(conn, b)
    outcome = plugin.hub_void_invoice(connection=conn, invoice=DocumentRef(kind="invoice", id=1))
    assert outcome.status is PushStatus.synced
    assert sandbox.books().invoices[xa]["Status"] == "VOIDED"
    plugin.hub_push_payments(connection=conn, payments=[payment_doc(1, b, "10.00")])
    refused = plugin.hub_void_invoice(connection=conn,
                                      invoice=DocumentRef(kind="invoice", id=2, external_id=xb))
    assert refused.status is PushStatus.rejected and "credit note" in refused.message
    assert sandbox.books().invoices[xb]["Status"] == "AUTHORISED"


def test_sandbox_refuses_voiding_with_payments_itself(sandbox, xero_url):
    """The rule holds at the sandbox too, not only in the plugin's pre-check."""
    import pytest
    from hub_accounting_xero.sandbox.books import XeroRefusal

    conn = connected(sandbox, xero_url)
    inv = invoice_doc(1)
    xid = push_one(conn, inv)
    plugin.hub_push_payments(connection=conn, payments=[payment_doc(1, inv, "1.00")])
    with pytest.raises(XeroRefusal, match="payment or credit note"):
        sandbox.books().update_invoice(xid, {"Status": "VOIDED"})
    with pytest.raises(XeroRefusal, match="valid status"):
        sandbox.books().update_invoice(xid, {"Status": "DELETED"})


def test_draft_invoices_are_deleted_not_voided(sandbox, xero_url):
    conn = connected(sandbox, xero_url, invoice_status="DRAFT")
    xid = push_one(conn, invoice_doc(1))
    assert sandbox.books().invoices[xid]["Status"] == "DRAFT"
    outcome = plugin.hub_void_invoice(connection=conn, invoice=DocumentRef(kind="invoice", id=1))
    assert outcome.status is PushStatus.synced
    assert sandbox.books().invoices[xid]["Status"] == "DELETED"


def test_fetch_external_documents_incremental(sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    docs = [invoice_doc(i) for i in range(1, 131)]  # more than one page of 100
    plugin.hub_push_invoices(connection=conn, invoices=docs)
    plugin.hub_push_payments(connection=conn, payments=[payment_doc(1, docs[0], "135.00")])
    invoices = list(plugin.hub_fetch_external_documents(connection=conn, kind="invoice",
                                                        since=None, until=None))
    assert len(invoices) == 130
    first = next(d for d in invoices if d.hub_id == 1)
    assert first.status == "PAID" and first.total == Money("135.00", "USD")
    assert first.number == "INV-00001" and first.date == dt.date(2026, 11, 1)
    [payment] = plugin.hub_fetch_external_documents(connection=conn, kind="payment", since=None,
                                                    until=None)
    assert payment.hub_id == 1 and payment.attributes["invoice_hub_id"] == 1
    tomorrow = sandbox.clock.now().date() + dt.timedelta(days=1)
    assert list(plugin.hub_fetch_external_documents(connection=conn, kind="invoice",
                                                    since=tomorrow, until=None)) == []
    calls = [c for c in sandbox.api_calls() if c.method == "GET" and c.path == "/Invoices"]
    assert [c.query["page"] for c in calls[:2]] == ["1", "2"]
    assert plugin.hub_fetch_external_documents(connection=conn, kind="charge", since=None,
                                               until=None) == []
