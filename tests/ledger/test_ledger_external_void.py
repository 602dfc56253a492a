"""An invoice voided in the accounting system (Xero's webhook says VOIDED) follows in the hub:
deleted, its debit off the ledger, once; one with payments is left alone."""

import datetime as dt
from decimal import Decimal

from sqlmodel import select

from hub import PaymentEvent, PaymentEventKind
from hub.db.models import AuditEvent
from hub.ledger import apply_payment_event, balance, record_payment

WHEN = dt.datetime(2026, 3, 5, 10, 0, tzinfo=dt.timezone.utc)


def _void_event(invoice_id: int) -> PaymentEvent:
    return PaymentEvent(event_id=f"xero:void:X{invoice_id}", kind=PaymentEventKind.invoice_voided,
                        object_id=f"X{invoice_id}", occurred_at=WHEN, invoice_id=invoice_id,
                        status="VOIDED")


def test_voided_in_accounting_deletes_the_locked_invoice_once(session, org, make_invoice):
    invoice = make_invoice("120.00")
    invoice.locked_at, invoice.locked_by = WHEN, "xero"
    session.add(invoice)
    session.flush()
    assert balance(session, org.id) == Decimal("-120.00")
    for _ in range(2):  # delivered twice: the second changes nothing
        apply_payment_event(session, "xero", _void_event(invoice.id))
        session.flush()
    session.refresh(invoice)
    assert invoice.status == "deleted"
    assert invoice.extra_fields["voided_in"] == {"connection": "xero", "external_id": f"X{invoice.id}"}
    assert balance(session, org.id) == Decimal("0.00")


def test_void_of_an_invoice_with_payments_changes_nothing(session, org, make_invoice):
    invoice = make_invoice("120.00")
    record_payment(session, org.id, "50.00", date=dt.date(2026, 3, 2),
                   invoice_id=invoice.id, push_to=[])
    for _ in range(2):  # delivered twice: said once
        apply_payment_event(session, "xero", _void_event(invoice.id))
        session.flush()
    session.refresh(invoice)
    assert invoice.status == "partially_paid"
    assert balance(session, org.id) == Decimal("-70.00")
    # not followed, but not silent: the audit trail says why, once
    said = session.exec(select(AuditEvent).where(
        AuditEvent.action == "invoice.void_not_followed")).all()
    assert len(said) == 1 and said[0].target_id == str(invoice.id)
    assert "50.00 USD" in said[0].summary and "not voided here" in said[0].summary
