"""Pure rules: statuses, edit rules, account calendar (seed 002), statements' totals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from hub.core.ledger.allocation import OpenItem, allocate_automatically
from hub.core.ledger.calendar import (
    AccountCalendar, block_state, dates_for, is_blocked, next_billing_date, reminder_dates,
)
from hub.core.ledger.edits import check_edit
from hub.core.ledger.statements import DocumentRow, invoice_totals
from hub.core.ledger.statuses import Status, invoice_status
from hub.core.money import Money
from hub.errors import DocumentDeleted, DocumentLocked, EditNotAllowed, ValidationFailed

T = dt.date(2026, 3, 10)


def status(total, paid="0", credit="0", due=dt.date(2026, 3, 15), **kw):
    return invoice_status(total=D(total), paid=D(paid), credit=D(credit), due_date=due, today=T,
                          **kw)


def test_status_table():
    assert status("120") == Status.unpaid
    assert status("120", "50") == Status.partially_paid
    assert status("120", "120") == Status.paid
    assert status("120", credit="120", from_balance=D("120")) == Status.paid_from_balance
    assert status("120", pending=True) == Status.pending
    assert status("120", due=dt.date(2026, 3, 9)) == Status.overdue
    assert status("120", deleted=True) == Status.deleted


def test_partially_paid_does_not_apply_to_an_overdue_invoice():
    assert status("120", "50", due=dt.date(2026, 3, 1)) == Status.overdue


def test_pending_past_due_is_overdue():
    assert status("120", pending=True, due=dt.date(2026, 3, 1)) == Status.overdue


def test_allocation_order_open_debits_before_invoices():
    usd = lambda v: Money(v, "USD")  # noqa: E731
    plan = allocate_automatically(usd("100"), [
        OpenItem("invoice", usd("50"), dt.date(2026, 1, 1)),
        OpenItem("debit", usd("100"), dt.date(2026, 2, 1), is_invoice=False)])
    assert plan.parts == [("debit", usd("100"))] and plan.leftover == usd("0")


def _edit(changes, *, total="100", paid="0", status_="unpaid", locked_by=None, extra=()):
    check_edit(number="INV1", status=status_, total=D(total), paid=D(paid), credit=D(0),
               locked_by=locked_by, changes=changes, existing_extra_keys=extra)


def test_edit_rules_unpaid_anything():
    _edit({"lines": [], "memo": "x", "issue_date": T, "number": "9", "extra_fields": {"po": 1}})


def test_edit_rules_partially_paid():
    _edit({"note": "n", "memo": "m", "issue_date": T, "due_date": T, "number": "2",
           "extra_fields": {"po": "1"}}, paid="10", status_="partially_paid", extra=("po",))
    with pytest.raises(EditNotAllowed, match="partially paid: lines cannot be changed"):
        _edit({"lines": []}, paid="10", status_="partially_paid")
    with pytest.raises(EditNotAllowed, match="only existing extra fields"):
        _edit({"extra_fields": {"new": 1}}, paid="10", status_="partially_paid", extra=("po",))


def test_edit_rules_paid():
    _edit({"note": "n", "memo": "m"}, paid="100", status_="paid")
    with pytest.raises(EditNotAllowed, match="paid: due_date, issue_date, number") as err:
        _edit({"issue_date": T, "due_date": T, "number": "3"}, paid="100", status_="paid")
    assert "credit note" in err.value.user_message()


def test_edit_rules_locked_and_deleted():
    with pytest.raises(DocumentLocked, match="synced to accounting \\(xero\\)") as err:
        _edit({"memo": "m"}, locked_by="xero")
    assert "credit note" in err.value.user_message()
    with pytest.raises(DocumentDeleted, match="never returns to unpaid"):
        _edit({"memo": "m"}, status_="deleted")


# ------------------------------------------------------------------ calendar (seed 002)
def test_billing_day_is_limited_to_28():
    with pytest.raises(ValidationFailed, match="1-28"):
        AccountCalendar(billing_day=29)


def test_next_billing_date():
    assert next_billing_date(dt.date(2026, 3, 1), 1) == dt.date(2026, 3, 1)
    assert next_billing_date(dt.date(2026, 3, 2), 1) == dt.date(2026, 4, 1)
    assert next_billing_date(dt.date(2026, 1, 29), 10) == dt.date(2026, 2, 10)


def test_minimum_balance_example_blocked_on_the_16th():
    cal = AccountCalendar(billing_day=1, payment_due_days=14, blocking_days=0,
                          block_on_weekends=True, block_on_holidays=True)
    dates = dates_for(dt.date(2026, 4, 1), cal)
    assert dates.due_date == dt.date(2026, 4, 15) and dates.block_date == dt.date(2026, 4, 16)


def test_minimum_balance_zero_and_minus_50():
    zero = AccountCalendar()
    assert not is_blocked(D("0"), zero)        # paid 100 of 100: balance 0 = minimum
    assert is_blocked(D("-0.01"), zero)        # a negative balance is blocked
    minus50 = AccountCalendar(minimum_balance=D("-50"))
    assert not is_blocked(D("-50"), minus50)   # paid only 50 of 100
    assert not is_blocked(D("-40"), minus50)   # paid 60
    assert is_blocked(D("-60"), minus50)       # paid 40: below -50
    assert block_state(D("-40"), minus50, today=T, block_date=T) == "in the next billing cycle"
    assert block_state(D("-60"), minus50, today=T, block_date=T) == "blocked"
    assert block_state(D("-60"), minus50, today=T, block_date=T, already_blocked=True) == \
        "already blocked"


def test_block_on_a_weekend_moves_to_the_next_working_day():
    cal = AccountCalendar(payment_due_days=14)          # 1 Aug 2026 + 14 = 15 Aug, block 16 (Sun)
    assert dates_for(dt.date(2026, 8, 1), cal).block_date == dt.date(2026, 8, 17)
    allowed = AccountCalendar(payment_due_days=14, block_on_weekends=True)
    assert dates_for(dt.date(2026, 8, 1), allowed).block_date == dt.date(2026, 8, 16)


def test_block_on_a_holiday_moves_to_the_next_working_day():
    cal = AccountCalendar(payment_due_days=10, holiday_country="US")  # block 25 Dec (Fri)
    assert dates_for(dt.date(2026, 12, 14), cal).block_date == dt.date(2026, 12, 28)
    listed = AccountCalendar(payment_due_days=10, extra_holidays=frozenset({dt.date(2026, 3, 12)}))
    assert dates_for(dt.date(2026, 3, 1), listed).block_date == dt.date(2026, 3, 13)


def test_deactivation_after_the_block():
    cal = AccountCalendar(payment_due_days=14, blocking_days=2, deactivation_days=10,
                          block_on_weekends=True)
    d = dates_for(dt.date(2026, 4, 1), cal)
    assert (d.block_date, d.deactivation_date) == (dt.date(2026, 4, 18), dt.date(2026, 4, 28))


def test_reminders_count_days_from_the_document_date():
    got = reminder_dates([("INV1", dt.date(2026, 3, 1))], [7, 14], today=dt.date(2026, 3, 5))
    assert [(r.send_on, r.days_remaining) for r in got] == [(dt.date(2026, 3, 8), 3),
                                                           (dt.date(2026, 3, 15), 10)]


# ------------------------------------------------------------------ statements' totals
def test_total_invoiced_paid_unpaid_rules():
    usd = lambda v: Money(v, "USD")  # noqa: E731
    rows = [DocumentRow("invoice", 1, "1", T, usd("120"), "partially_paid", usd("50"), usd("70")),
            DocumentRow("invoice", 2, "2", T, usd("100"), "paid", usd("100"), usd("0")),
            DocumentRow("invoice", 3, "3", T, usd("30"), "unpaid", usd("0"), usd("30")),
            DocumentRow("invoice", 4, "4", T, usd("40"), "overdue", usd("0"), usd("40")),
            DocumentRow("invoice", 5, "5", T, usd("99"), "deleted", usd("0"), usd("99"))]
    t = invoice_totals(rows, "USD")
    assert (t.invoiced, t.invoiced_count) == (usd("290"), 4)
    assert (t.paid, t.paid_count) == (usd("150"), 2)      # paid + partially paid
    assert (t.unpaid, t.unpaid_count) == (usd("140"), 3)  # due + partially paid
    assert t.invoiced == t.paid + t.unpaid
