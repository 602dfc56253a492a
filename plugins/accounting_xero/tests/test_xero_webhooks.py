"""Xero webhooks: signature, intent to receive, payments and voids made directly in Xero."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from hub import Money, PaymentEventKind, PushStatus, WebhookRejected, WebhookRequest

from hub_accounting_xero import plugin
from hub_accounting_xero.testing import connected, invoice_doc, payment_doc

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)


def delivery(sandbox, events, signature=None):
    body, good = sandbox.webhook(events)
    return WebhookRequest(connection="xero", body=body, received_at=NOW,
                          headers={"X-Xero-Signature": signature or good})


def test_intent_to_receive_good_and_bad_signature(sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    assert plugin.hub_receive_payment(connection=conn, request=delivery(sandbox, [])) == []
    with pytest.raises(WebhookRejected) as info:
        plugin.hub_receive_payment(connection=conn,
                                   request=delivery(sandbox, [], signature="bm9wZQ=="))
    assert info.value.status_code == 401
    unsigned = WebhookRequest(connection="xero", body=b'{"events":[]}', headers={},
                              received_at=NOW)
    with pytest.raises(WebhookRejected):
        plugin.hub_receive_payment(connection=conn, request=unsigned)


def test_payment_recorded_in_xero_and_void_become_events_once(sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    a, b = invoice_doc(1), invoice_doc(2)
    outcomes = plugin.hub_push_invoices(connection=conn, invoices=[a, b])
    xa, xb = (o.external_id for o in outcomes)
    [ours] = plugin.hub_push_payments(connection=conn, payments=[payment_doc(1, a, "35.00")])
    books = sandbox.books()
    # the MSP's bookkeeper records a payment in Xero and voids the other invoice
    theirs, errors = books.create_payment({"Invoice": {"InvoiceID": xa}, "Account": {"Code": "090"},
                                           "Date": "2026-11-20", "Amount": Decimal("100.00")})
    assert not errors
    books.update_invoice(xb, {"Status": "VOIDED"})
    request = delivery(sandbox, sandbox.invoice_events())
    events = plugin.hub_receive_payment(connection=conn, request=request)
    by_kind = {e.kind: e for e in events}
    assert set(by_kind) == {PaymentEventKind.payment_succeeded, PaymentEventKind.invoice_voided}
    paid = by_kind[PaymentEventKind.payment_succeeded]
    assert paid.object_id == theirs["PaymentID"] != ours.external_id  # the hub's own is skipped
    assert paid.invoice_id == 1 and paid.amount == Money("100.00", "USD")
    assert paid.occurred_at.date() == dt.date(2026, 11, 20)
    void = by_kind[PaymentEventKind.invoice_voided]
    assert void.invoice_id == 2 and void.object_id == xb
    # a redelivery gives the same event ids, so the host stores each once
    again = plugin.hub_receive_payment(connection=conn, request=request)
    assert sorted(e.event_id for e in again) == sorted(e.event_id for e in events)

    # the ledger pushing that payment back (reference = PaymentID) creates nothing in Xero
    echo = payment_doc(7, a, "100.00", reference=theirs["PaymentID"])
    [pushed] = plugin.hub_push_payments(connection=conn, payments=[echo])
    assert pushed.status is PushStatus.synced and pushed.external_id == theirs["PaymentID"]
    assert len(books.payments) == 2

    # the bookkeeper deletes their payment: a reversal of it comes back
    books.delete_payment(theirs["PaymentID"])
    later = plugin.hub_receive_payment(connection=conn,
                                       request=delivery(sandbox, sandbox.invoice_events()))
    [gone] = [e for e in later if e.kind is PaymentEventKind.refunded]
    assert gone.payment_object_id == theirs["PaymentID"] and gone.invoice_id == 1
    assert not [e for e in later if e.kind is PaymentEventKind.payment_succeeded]


def test_hub_reversal_is_not_reported_back(sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    inv = invoice_doc(1)
    plugin.hub_push_invoices(connection=conn, invoices=[inv])
    plugin.hub_push_payments(connection=conn, payments=[payment_doc(1, inv, "35.00")])
    assert plugin.hub_receive_payment(connection=conn,
                                      request=delivery(sandbox, sandbox.invoice_events())) == []
    [rev] = plugin.hub_push_payments(connection=conn,
                                     payments=[payment_doc(2, inv, "-35.00", reversal_of=1)])
    assert rev.status is PushStatus.synced
    assert plugin.hub_receive_payment(connection=conn,
                                      request=delivery(sandbox, sandbox.invoice_events())) == []


def test_events_of_another_organisation_are_ignored(sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    events = [{"resourceId": "00000000-0000-0000-0000-000000000001", "eventCategory": "INVOICE",
               "eventType": "UPDATE", "tenantId": "someone-else", "tenantType": "ORGANISATION",
               "resourceUrl": "x", "eventDateUtc": "2026-11-22T10:00:00"}]
    before = len(sandbox.api_calls())
    assert plugin.hub_receive_payment(connection=conn, request=delivery(sandbox, events)) == []
    assert len(sandbox.api_calls()) == before


def test_payment_entered_in_xero_keeps_its_method_account_and_reference(sandbox, xero_url):
    """#19: it came back as method `card` with Xero's PaymentID as its reference."""
    conn = connected(sandbox, xero_url)
    inv = invoice_doc(1)
    [pushed] = plugin.hub_push_invoices(connection=conn, invoices=[inv])
    theirs, errors = sandbox.books().create_payment({
        "Invoice": {"InvoiceID": pushed.external_id}, "Account": {"Code": "091"},
        "Date": "2026-11-20", "Amount": Decimal("40.00"), "Reference": "BACS 77-1042"})
    assert not errors
    [paid] = plugin.hub_receive_payment(connection=conn,
                                        request=delivery(sandbox, sandbox.invoice_events()))
    assert paid.kind is PaymentEventKind.payment_succeeded
    assert paid.object_id == theirs["PaymentID"]  # still de-duplicated by Xero's id
    assert paid.method == "bank_transfer" and paid.reference == "BACS 77-1042"
    assert "account 091" in paid.message and paid.raw["Account"] == {"Code": "091"}


def test_payment_entered_in_xero_lands_in_the_ledger_as_such(sandbox, xero_url, tmp_path):
    """The event applied by the host: a bank transfer with Xero's reference, not a card."""
    from hub.db.engine import make_engine, session_scope
    from hub.db.models import Invoice, InvoiceStatus, Organisation, Payment, metadata
    from hub.ledger import apply_payment_event, post_invoice
    from sqlmodel import select

    conn = connected(sandbox, xero_url)
    engine = make_engine("sqlite:///" + str(tmp_path / "l.sqlite"))
    metadata.create_all(engine)
    with session_scope(engine) as session:
        org = Organisation(name="Acme")
        session.add(org)
        session.flush()
        invoice = Invoice(organisation_id=org.id, status=InvoiceStatus.unpaid, number="INV-1",
                          issue_date=dt.date(2026, 11, 1), due_date=dt.date(2026, 11, 15),
                          subtotal=Decimal("100"), total=Decimal("100"), currency="USD")
        session.add(invoice)
        session.flush()
        post_invoice(session, invoice, today=dt.date(2026, 11, 1))
    [pushed] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    sandbox.books().create_payment({
        "Invoice": {"InvoiceID": pushed.external_id}, "Account": {"Code": "090"},
        "Date": "2026-11-20", "Amount": Decimal("40.00"), "Reference": "Cheque 1042"})
    [event] = plugin.hub_receive_payment(connection=conn,
                                         request=delivery(sandbox, sandbox.invoice_events()))
    with session_scope(engine) as session:
        apply_payment_event(session, "xero", event, today=dt.date(2026, 11, 22))
    with session_scope(engine) as session:
        [payment] = session.exec(select(Payment)).all()
        assert (payment.method.value, payment.reference) == ("bank_transfer", "Cheque 1042")
        assert payment.processor_object_id == event.object_id
        assert "account 090" in payment.note
    engine.dispose()


def test_missed_webhook_is_caught_up_by_polling_changes_since_the_last_seen(sandbox, xero_url):
    """#19: a payment entered in Xero whose webhook never arrived comes back by polling
    /Invoices with If-Modified-Since; the events are the webhook's (same ids), so whichever
    comes second is stored as a duplicate and ignored."""
    conn = connected(sandbox, xero_url)
    a, b = invoice_doc(1), invoice_doc(2)
    xa, xb = (o.external_id for o in plugin.hub_push_invoices(connection=conn, invoices=[a, b]))
    books = sandbox.books()
    before = books.now()
    theirs, errors = books.create_payment({"Invoice": {"InvoiceID": xa},
                                           "Account": {"Code": "090"}, "Date": "2026-11-20",
                                           "Amount": Decimal("25.00"), "Reference": "DD 88"})
    assert not errors
    calls = len(sandbox.api_calls())
    polled = plugin.hub_poll_payments(connection=conn, since=before)
    [paid] = polled
    assert paid.kind is PaymentEventKind.payment_succeeded and paid.invoice_id == 1
    assert (paid.object_id, paid.reference, paid.method) == (theirs["PaymentID"], "DD 88",
                                                            "bank_transfer")
    assert [c.path for c in sandbox.api_calls()[calls:]][0] == "/Invoices"
    # nothing changed since (If-Modified-Since): nothing to report
    assert plugin.hub_poll_payments(connection=conn, since=books.now()) == []
    # the late webhook brings the same event id: the host stores it once
    late = plugin.hub_receive_payment(connection=conn,
                                      request=delivery(sandbox, sandbox.invoice_events()))
    assert paid.event_id in {e.event_id for e in late}
    # not this plugin's connection: no answer
    from hub import Connection
    other = Connection(name="books", plugin="other", settings=None)
    assert plugin.hub_poll_payments(connection=other, since=before) is None
