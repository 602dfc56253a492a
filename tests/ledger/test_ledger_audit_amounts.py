"""The audit trail writes money as people read it: in the currency's minor unit, whatever was
typed or stored. A payment typed as ``12.5`` is "12.50 USD", a full refund read back from the
``NUMERIC(19, 4)`` column is "10.00 USD" (not "10.0000 USD"), yen have no decimals and
thousands are grouped, as on the documents."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from hub.db.models import AuditEvent, Organisation
from hub.ledger import CreditLine, create_credit_note, record_payment, refund, refund_from_balance

DAY = dt.date(2026, 3, 2)


def _summaries(session, action: str) -> list[str]:
    return list(session.exec(select(AuditEvent.summary).where(AuditEvent.action == action)
                             .order_by(AuditEvent.id)))


def test_payment_and_refund_summaries_are_in_minor_units(session, org):
    paid = record_payment(session, org.id, "12.5", date=DAY, method="bank_transfer")
    refund(session, paid.id, "2.5", date=DAY, reason="overcharged")
    session.commit()
    session.expire_all()  # the rest is refunded as the column stores it: 10.0000
    refund(session, paid.id, date=DAY)
    record_payment(session, org.id, "1234.5", date=DAY)
    refund_from_balance(session, org.id, "100", date=DAY)
    assert _summaries(session, "payment.recorded") == [
        f"12.50 USD (bank_transfer) from organisation {org.id}",
        f"1,234.50 USD (other) from organisation {org.id}"]
    assert _summaries(session, "payment.refunded") == [
        f"2.50 USD refunded (refund {paid.id + 1}): overcharged",
        f"10.00 USD refunded (refund {paid.id + 2})"]
    assert _summaries(session, "payment.refunded_from_balance") == [
        f"100.00 USD of account credit paid back to organisation {org.id}"]


def test_yen_have_no_decimals_in_the_trail(session):
    yen = Organisation(name="Tokyo KK", currency="JPY", billing_day=1)
    session.add(yen)
    session.commit()
    paid = record_payment(session, yen.id, "1500", date=DAY)
    refund(session, paid.id, "500", date=DAY)
    create_credit_note(session, organisation_id=yen.id, lines=[CreditLine("goodwill", "1000")],
                       date=DAY)
    assert _summaries(session, "payment.recorded") == [
        f"1,500 JPY (other) from organisation {yen.id}"]
    assert _summaries(session, "payment.refunded")[0].startswith("500 JPY refunded")
    assert _summaries(session, "credit_note.created")[0].endswith(": 1,000 JPY")


def test_an_edited_price_is_audited_in_its_currency(session):
    from hub.billing.catalogue import add_product
    from hub.billing.editing import edit_product

    yen = add_product(session, "SUP", "Support hour", "5000", currency="JPY")
    dollars = add_product(session, "WS", "Workstation", "30")
    edit_product(session, "SUP", {"unit_price": "6000"})
    edit_product(session, "WS", {"unit_price": "35"})
    assert _summaries(session, "product.edited") == [
        f"product {yen.id} edited: unit_price 5,000 → 6,000",
        f"product {dollars.id} edited: unit_price 30.00 → 35.00"]
