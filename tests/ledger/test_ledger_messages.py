"""Refusals and reports show what people know, not internal values: an allocation names the
invoice by number (not the key ``('inv', 8)``), amounts are in the currency's minor unit
(``0.00``, not ``0.0000``), and an empty range reads "nothing is left" instead of "between 0 and
0". The CLI reports amounts the same way."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from sqlmodel import select

from hub.core.money import shown
from hub.db.models import Allocation, Organisation
from hub.errors import EditNotAllowed, ValidationFailed
from hub.ledger import (
    CreditLine, apply_credit_note, create_credit_note, mark_deleted, record_payment, refund,
)

DAY = dt.date(2026, 3, 5)


def _refusal(call, *args, error=ValidationFailed, **kwargs) -> str:
    with pytest.raises(error) as refused:
        call(*args, **kwargs)
    return refused.value.user_message()


def test_an_allocation_refusal_names_the_invoice_by_number(session, org, make_invoice):
    inv = make_invoice("100", number="INV-0042")
    message = _refusal(record_payment, session, org.id, "150", date=DAY,
                       allocations={inv.id: "120"})
    assert "120.00 USD is more than the 100.00 USD due on invoice INV-0042" in message
    assert "('inv'" not in message and "inv'" not in message
    message = _refusal(record_payment, session, org.id, "150", date=DAY,
                       allocations={inv.id: "0"})
    assert "the amount for invoice INV-0042 must be greater than zero" in message
    assert "('inv'" not in message


def test_a_split_payment_still_pays_the_invoices_it_names(session, org, make_invoice):
    first, second = make_invoice("100"), make_invoice("50")
    pay = record_payment(session, org.id, "130", date=DAY,
                         allocations={first.id: "80", str(second.id): "50"})
    paid = {a.invoice_id: a.amount for a in session.exec(
        select(Allocation).where(Allocation.payment_id == pay.id))}
    assert paid == {first.id: D("80"), second.id: D("50")}
    assert (first.amount_due, second.amount_due) == (D("20"), D("0"))


def test_a_refund_with_nothing_left_says_so(session, org, make_invoice):
    inv = make_invoice("100")
    pay = record_payment(session, org.id, "100", date=DAY, invoice_id=inv.id)
    refund(session, pay.id, date=DAY)  # all of it
    message = _refusal(refund, session, pay.id, "1", date=DAY)
    assert message.startswith(f"nothing is left to refund of payment {pay.id}")
    assert "between" not in message and "0.0000" not in message


def test_a_refund_range_is_in_the_currencys_minor_unit(session):
    yen = Organisation(name="Tokyo KK", currency="JPY")
    session.add(yen)
    session.flush()
    pay = record_payment(session, yen.id, "5000", date=DAY)
    message = _refusal(refund, session, pay.id, "6000", date=DAY)
    assert f"a refund of payment {pay.id} must be between 1 JPY and 5,000 JPY" in message


def test_credit_note_application_refusals(session, org, make_invoice):
    inv = make_invoice("10", number="INV-7")
    note = create_credit_note(session, organisation_id=org.id, lines=[CreditLine("a", "15")],
                              date=DAY, apply=False)
    message = _refusal(apply_credit_note, session, note.id, inv.id, "12", today=DAY)
    assert (f"can apply between 0.01 USD and 10.00 USD of credit note {note.number} to "
            "invoice INV-7") in message
    apply_credit_note(session, note.id, inv.id, today=DAY)  # 10 of 15: the invoice is paid
    message = _refusal(apply_credit_note, session, note.id, inv.id, "1", today=DAY)
    assert message.startswith("invoice INV-7 has nothing due")
    other = make_invoice("30", number="INV-8")
    apply_credit_note(session, note.id, other.id, today=DAY)  # the last 5
    message = _refusal(apply_credit_note, session, note.id, other.id, "1", today=DAY)
    assert message.startswith(f"nothing is left to apply of credit note {note.number}")
    assert "0.0000" not in message


def test_a_paid_invoice_that_cannot_be_deleted_shows_minor_units(session, org, make_invoice):
    inv = make_invoice("100", number="INV-9")
    record_payment(session, org.id, "10", date=DAY, invoice_id=inv.id)
    message = _refusal(mark_deleted, session, inv.id, error=EditNotAllowed,
                       when=dt.datetime(2026, 3, 5, tzinfo=dt.timezone.utc))
    assert "(10.00 USD paid, 0.00 USD credited)" in message


def test_shown_keeps_what_the_minor_unit_cannot_hold():
    assert shown(D("10.0000"), "USD") == "10.00 USD"
    assert shown(D("1234.5"), "USD") == "1,234.50 USD"
    assert shown(D("500.0000"), "JPY") == "500 JPY"
    assert shown(D("0.0125"), "USD") == "0.0125 USD"  # a unit price: never rounded away


def test_cli_reports_amounts_in_the_minor_unit(hub_cli):
    for args in (["org", "create", "Acme"], ["invoice", "create", "1"],
                 ["invoice", "add-line", "1", "--description", "Support", "--price", "100"],
                 ["invoice", "finalise", "1"]):
        assert hub_cli(*args)[0] == 0, args
    expected = [
        (["payment", "add", "1", "12.5"], "payment 1: 12.50 USD (other)"),
        (["payment", "refund", "1", "--amount", "2.5"], "refund 2: -2.50 USD"),
        # the refund reopened 2.50 of the invoice; the invoice is named by number, not "id:1"
        (["ledger", "mark-paid", "id:1"], "invoice 202601000001 paid by payment 3 (90.00 USD)"),
        (["account", "transaction", "1", "--side", "debit", "--amount", "7.5"],
         "debit 7.50 USD"),
        (["credit-note", "create", "--organisation", "1", "--line", "goodwill=15"],
         ": 15.00 USD"),
    ]
    for args, words in expected:
        code, out, err = hub_cli(*args)
        assert code == 0, (args, err)
        assert words in out and not re.search(r"\.\d{3}", out), (args, out)  # no 12.5000
    code, _, err = hub_cli("ledger", "mark-paid", "id:1")
    assert code == 2 and "has nothing due" in err
    code, _, err = hub_cli("payment", "refund", "1", "--amount", "20")
    assert code == 2 and "between 0.01 USD and 10.00 USD" in err, err
