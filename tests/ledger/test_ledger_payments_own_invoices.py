"""A payment pays invoices of its own organisation only: recorded against one, or allocated
to several afterwards, another customer's invoice is refused whatever is still due on it (a
USD payment was allocated to a JPY invoice of another organisation; a payment recorded
against another customer's paid invoice kept that invoice's id)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from hub.db.models import Allocation, Organisation, Payment
from hub.errors import ValidationFailed
from hub.ledger import allocate_payment, record_payment

DAY = dt.date(2026, 3, 5)


@pytest.fixture
def stranger_invoice(session, make_invoice):
    other = Organisation(name="Other Co", currency="USD")
    session.add(other)
    session.flush()
    return make_invoice("50", org_id=other.id)


def test_an_allocation_to_another_organisations_invoice_is_refused(session, org, make_invoice,
                                                                   stranger_invoice):
    payment = record_payment(session, org.id, "100", date=DAY)
    with pytest.raises(ValidationFailed, match="belongs to another organisation"):
        allocate_payment(session, payment.id, {stranger_invoice.id: "1"}, today=DAY)
    assert session.exec(select(Allocation).where(
        Allocation.invoice_id == stranger_invoice.id)).all() == []
    own = make_invoice("30")
    allocate_payment(session, payment.id, {own.id: "30"}, today=DAY)
    assert own.amount_due == 0


def test_a_payment_against_another_organisations_paid_invoice_is_refused(session, org,
                                                                         stranger_invoice):
    record_payment(session, stranger_invoice.organisation_id, "50", date=DAY,
                   invoice_id=stranger_invoice.id)  # paid in full by its own customer
    with pytest.raises(ValidationFailed, match="belongs to another organisation"):
        record_payment(session, org.id, "1", date=DAY, invoice_id=stranger_invoice.id)
    assert session.exec(select(Payment).where(Payment.organisation_id == org.id)).all() == []
