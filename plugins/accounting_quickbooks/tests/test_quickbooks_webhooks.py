"""Payments entered in QuickBooks come back once: by webhook, and by Change Data Capture when
the webhook is never sent; deletions and voids too; the hub's own payments are not echoed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from hub import Money, PaymentEventKind, PushStatus, WebhookRejected, WebhookRequest

from hub_accounting_quickbooks import plugin
from hub_accounting_quickbooks.testing import connected, invoice_doc, payment_doc
from hub_accounting_quickbooks.webhooks import catch_up

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)


def delivery(sandbox, signature=None, only_new=True):
    body, good = sandbox.webhook(only_new=only_new)
    return WebhookRequest(connection="qbo", body=body, received_at=NOW,
                          headers={"intuit-signature": signature or good})


def bookkeeper_pays(sandbox, invoice_id: str, amount: str) -> dict:
    """Someone records a payment directly in QuickBooks."""
    books = sandbox.books()
    invoice = books.invoices()[invoice_id]
    return books.create_payment({
        "CustomerRef": invoice["CustomerRef"], "TotalAmt": Decimal(amount),
        "TxnDate": "2026-11-20",
        "Line": [{"Amount": Decimal(amount),
                  "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}]})


def test_signature_is_checked(sandbox, qbo_url):
    conn = connected(sandbox, qbo_url)
    assert plugin.hub_receive_payment(connection=conn, request=delivery(sandbox)) == []
    with pytest.raises(WebhookRejected) as info:
        plugin.hub_receive_payment(connection=conn, request=delivery(sandbox, "bm9wZQ=="))
    assert info.value.status_code == 401
    unsigned = WebhookRequest(connection="qbo", body=b'{"eventNotifications":[]}', headers={},
                              received_at=NOW)
    with pytest.raises(WebhookRejected):
        plugin.hub_receive_payment(connection=conn, request=unsigned)


def test_payment_entered_in_quickbooks_comes_back_once_by_webhook(sandbox, qbo_url):
    conn = connected(sandbox, qbo_url)
    a, b = invoice_doc(1), invoice_doc(2)
    xa, xb = (o.external_id for o in plugin.hub_push_invoices(connection=conn, invoices=[a, b]))
    [ours] = plugin.hub_push_payments(connection=conn, payments=[payment_doc(1, a, "35.00")])
    theirs = bookkeeper_pays(sandbox, xa, "100.00")
    request = delivery(sandbox)
    events = plugin.hub_receive_payment(connection=conn, request=request)
    assert [e.kind for e in events] == [PaymentEventKind.payment_succeeded]
    [paid] = events
    assert paid.object_id == theirs["Id"] != ours.external_id  # the hub's own is not echoed
    assert paid.invoice_id == 1 and paid.amount == Money("100.00", "USD")
    # a redelivery yields the same event id, which the host stores once
    assert [e.event_id for e in plugin.hub_receive_payment(connection=conn, request=request)] \
        == [paid.event_id]
    # CDC later reports the same payment with the same id: still one payment in the hub
    assert paid.event_id in {e.event_id for e in catch_up(conn)}
    # the ledger pushing it back (reference = its Payment Id) creates nothing in QuickBooks
    [echo] = plugin.hub_push_payments(connection=conn, payments=[
        payment_doc(7, a, "100.00", reference=theirs["Id"])])
    assert echo.status is PushStatus.synced and echo.external_id == theirs["Id"]
    assert len(sandbox.books().payments()) == 2
    # the bookkeeper deletes it, and voids the other invoice
    books = sandbox.books()
    books.delete_payment({"Id": theirs["Id"], "SyncToken": theirs["SyncToken"]})
    books.void_invoice({"Id": xb, "SyncToken": books.invoices()[xb]["SyncToken"]})
    later = plugin.hub_receive_payment(connection=conn, request=delivery(sandbox))
    kinds = {e.kind: e for e in later}
    assert set(kinds) == {PaymentEventKind.refunded, PaymentEventKind.invoice_voided}
    assert kinds[PaymentEventKind.refunded].payment_object_id == theirs["Id"]
    assert kinds[PaymentEventKind.invoice_voided].invoice_id == 2


def test_payment_comes_back_by_change_data_capture_when_no_webhook_is_sent(sandbox, qbo_url):
    conn = connected(sandbox, qbo_url)
    inv = invoice_doc(1)
    [pushed] = plugin.hub_push_invoices(connection=conn, invoices=[inv])
    assert catch_up(conn) == []  # nothing paid yet; the cursor starts here
    theirs = bookkeeper_pays(sandbox, pushed.external_id, "60.00")
    sandbox.skip_notifications()  # Intuit's webhook delivery never comes
    sandbox.clock.advance(5)
    [event] = catch_up(conn)
    assert event.kind is PaymentEventKind.payment_succeeded
    assert event.object_id == theirs["Id"] and event.invoice_id == 1
    assert event.amount == Money("60.00", "USD")
    assert catch_up(conn) == []  # the next catch-up starts after it
    assert any(c.path == "/cdc" for c in sandbox.api_calls())


def test_hub_reversal_is_not_reported_back(sandbox, qbo_url):
    conn = connected(sandbox, qbo_url)
    inv = invoice_doc(1)
    plugin.hub_push_invoices(connection=conn, invoices=[inv])
    plugin.hub_push_payments(connection=conn, payments=[payment_doc(1, inv, "35.00")])
    assert plugin.hub_receive_payment(connection=conn, request=delivery(sandbox)) == []
    [rev] = plugin.hub_push_payments(connection=conn,
                                     payments=[payment_doc(2, inv, "-35.00", reversal_of=1)])
    assert rev.status is PushStatus.synced
    assert plugin.hub_receive_payment(connection=conn, request=delivery(sandbox)) == []
    assert not sandbox.books().payments()


def test_notifications_of_another_company_are_ignored(sandbox, qbo_url):
    conn = connected(sandbox, qbo_url)
    conn.state.set("realm_id", "someone-else")
    bookkeeper = sandbox.books().create_customer({"DisplayName": "Walk-in"})
    assert bookkeeper["Id"]
    before = len(sandbox.api_calls())
    assert plugin.hub_receive_payment(connection=conn, request=delivery(sandbox)) == []
    assert len(sandbox.api_calls()) == before


def test_one_payment_of_two_invoices_becomes_a_payment_on_each(sandbox, qbo_url):
    """A bookkeeper records one cheque paying two hub invoices (a line each): each invoice gets
    its own ledger payment of its line's amount, both referenced by the Payment Id; deleting the
    cheque in QuickBooks refunds both parts; the hub's push of those parts creates nothing."""
    conn = connected(sandbox, qbo_url)
    a, b = invoice_doc(1), invoice_doc(2)
    xa, xb = (o.external_id for o in plugin.hub_push_invoices(connection=conn, invoices=[a, b]))
    books = sandbox.books()
    cheque = books.create_payment({
        "CustomerRef": books.invoices()[xa]["CustomerRef"], "TotalAmt": Decimal("150.00"),
        "TxnDate": "2026-11-20",
        "Line": [{"Amount": Decimal("100.00"), "LinkedTxn": [{"TxnId": xa, "TxnType": "Invoice"}]},
                 {"Amount": Decimal("50.00"), "LinkedTxn": [{"TxnId": xb, "TxnType": "Invoice"}]}]})

    events = plugin.hub_receive_payment(connection=conn, request=delivery(sandbox))

    assert [(e.kind, e.invoice_id, e.amount, e.reference) for e in events] == [
        (PaymentEventKind.payment_succeeded, 1, Money("100.00", "USD"), cheque["Id"]),
        (PaymentEventKind.payment_succeeded, 2, Money("50.00", "USD"), cheque["Id"])]
    assert len({e.object_id for e in events}) == 2 and len({e.event_id for e in events}) == 2
    # the hub's ledger payments of both parts, pushed back, are recognised: nothing is created
    outcomes = plugin.hub_push_payments(connection=conn, payments=[
        payment_doc(10, a, "100.00", reference=cheque["Id"]),
        payment_doc(11, b, "50.00", reference=cheque["Id"])])
    assert {o.status for o in outcomes} == {PushStatus.synced}
    assert len(books.payments()) == 1

    books.delete_payment({"Id": cheque["Id"], "SyncToken": cheque["SyncToken"]})
    sandbox.clock.advance(5)
    [*refunds] = catch_up(conn)
    assert sorted((e.kind, e.invoice_id, e.amount, e.payment_object_id) for e in refunds) == sorted(
        (PaymentEventKind.refunded, e.invoice_id, e.amount, e.object_id) for e in events)
