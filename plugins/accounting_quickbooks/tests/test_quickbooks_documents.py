"""Credit memos applied to their invoices, payments and their reversal, voids, and documents
read back for reconciliation: each exactly once, even when an answer is lost."""

from __future__ import annotations

from decimal import Decimal

from hub import DocumentRef, Money, PushStatus

from hub_accounting_quickbooks import plugin
from hub_accounting_quickbooks.testing import (
    connected, credit_note_doc, invoice_doc, payment_doc,
)


def test_credit_memo_is_created_and_applied_once(sandbox, qbo_url):
    conn = connected(sandbox, qbo_url, timeout_seconds=0.5)
    inv = invoice_doc(1)  # 135.00
    [pushed] = plugin.hub_push_invoices(connection=conn, invoices=[inv])
    # the application's answer is lost once: it is looked up, never applied twice
    sandbox.inject("slow", method="POST", path="^/payment$", seconds=1.5, after=True)
    note = credit_note_doc(1, invoice=inv, amount="20.00", allocate="20.00")
    [first] = plugin.hub_push_credit_notes(connection=conn, credit_notes=[note])
    assert first.status is PushStatus.retry
    [second] = plugin.hub_push_credit_notes(connection=conn, credit_notes=[note])
    assert second.status is PushStatus.synced and second.external_id == first.external_id
    books = sandbox.books()
    assert len(books.store["CreditMemo"]) == 1 and len(books.payments()) == 1
    assert books.invoices()[pushed.external_id]["Balance"] == Decimal("115.00")
    assert books.store["CreditMemo"][second.external_id]["RemainingCredit"] == Decimal("0.00")


def test_payment_and_its_reversal_and_a_refused_refund(sandbox, qbo_url):
    conn = connected(sandbox, qbo_url, timeout_seconds=0.5)
    inv = invoice_doc(1)
    [pushed] = plugin.hub_push_invoices(connection=conn, invoices=[inv])
    sandbox.inject("drop", method="POST", path="^/batch$", after=True)  # stored, answer lost
    [lost] = plugin.hub_push_payments(connection=conn, payments=[payment_doc(1, inv, "35.00")])
    assert lost.status is PushStatus.retry
    sandbox.forget_request_ids()
    [paid] = plugin.hub_push_payments(connection=conn, payments=[payment_doc(1, inv, "35.00")])
    assert paid.status is PushStatus.synced and len(sandbox.books().payments()) == 1
    assert sandbox.books().invoices()[pushed.external_id]["Balance"] == Decimal("100.00")
    [reversed_] = plugin.hub_push_payments(
        connection=conn, payments=[payment_doc(2, inv, "-35.00", reversal_of=1)])
    assert reversed_.status is PushStatus.synced and not sandbox.books().payments()
    assert sandbox.books().invoices()[pushed.external_id]["Balance"] == Decimal("135.00")
    [refund] = plugin.hub_push_payments(connection=conn, payments=[payment_doc(3, inv, "-5.00")])
    assert refund.status is PushStatus.rejected and "credit note" in refund.message
    # more than is due: QuickBooks' own words come back
    [over] = plugin.hub_push_payments(connection=conn, payments=[payment_doc(4, inv, "500.00")])
    assert over.status is PushStatus.rejected and "more than the open balance" in over.message


def test_void_and_a_void_refused_because_of_a_payment(sandbox, qbo_url):
    conn = connected(sandbox, qbo_url)
    a, b = invoice_doc(1), invoice_doc(2)
    xa, xb = (o.external_id for o in plugin.hub_push_invoices(connection=conn, invoices=[a, b]))
    plugin.hub_push_payments(connection=conn, payments=[payment_doc(1, b, "10.00")])
    voided = plugin.hub_void_invoice(connection=conn, invoice=DocumentRef(kind="invoice", id=1))
    assert voided.status is PushStatus.synced
    assert sandbox.books().invoices()[xa]["TotalAmt"] == Decimal("0.00")
    again = plugin.hub_void_invoice(connection=conn, invoice=DocumentRef(kind="invoice", id=1))
    assert again.status is PushStatus.synced  # already voided: nothing to do
    refused = plugin.hub_void_invoice(connection=conn, invoice=DocumentRef(kind="invoice", id=2))
    assert refused.status is PushStatus.rejected and "credit note" in refused.message
    never = plugin.hub_void_invoice(connection=conn, invoice=DocumentRef(kind="invoice", id=9))
    assert never.status is PushStatus.rejected and "never pushed" in never.message


def test_documents_read_back_for_reconciliation(sandbox, qbo_url):
    conn = connected(sandbox, qbo_url)
    a, b = invoice_doc(1), invoice_doc(2)
    plugin.hub_push_invoices(connection=conn, invoices=[a, b])
    plugin.hub_push_payments(connection=conn, payments=[payment_doc(1, a, "135.00")])
    plugin.hub_void_invoice(connection=conn, invoice=DocumentRef(kind="invoice", id=2))
    invoices = {d.hub_id: d for d in plugin.hub_fetch_external_documents(
        connection=conn, kind="invoice", since=None, until=None)}
    assert (invoices[1].status, invoices[1].total) == ("PAID", Money("135.00", "USD"))
    assert invoices[2].status == "VOIDED" and invoices[1].number == "INV-00001"
    [payment] = plugin.hub_fetch_external_documents(connection=conn, kind="payment", since=None,
                                                    until=None)
    assert payment.hub_id == 1 and payment.attributes["invoice_hub_id"] == 1
    assert plugin.hub_fetch_external_documents(connection=conn, kind="charge", since=None,
                                               until=None) == []
