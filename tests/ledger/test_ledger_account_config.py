"""A customer's billing config is checked when it is set (every value the daily account
calendar and the reminders read), and one account whose stored config cannot be read does not
stop the calendar for the others."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal as D

import pytest
from sqlmodel import Session, select

from hub.db.models import AccountConfig, AccountStateChange, Invoice, InvoiceLine, Organisation
from hub.errors import ValidationFailed
from hub.ledger import post_invoice, run_account_calendar, set_account_config


def _organisation(session, name="Acme", currency="USD") -> Organisation:
    org = Organisation(name=name, currency=currency, payment_due_days=14)
    session.add(org)
    session.flush()
    return org


@pytest.mark.parametrize("setting, refusal", [
    ({"holidays": ["2026-02-30"]}, "is not a date"),
    ({"holidays": ["12-25"]}, "is not a date"),
    ({"holidays": [1]}, "is not a date"),
    ({"holiday_country": "ZZ"}, "is not a country"),
    ({"reminder_days": ["a"]}, "reminder_days"),
    ({"blocking_days": "99999999999999999999"}, "blocking_days"),
    ({"blocking_days": -1}, "blocking_days"),
    ({"minimum_balance": "1e400"}, "minimum_balance"),
    ({"minimum_balance": "0.001"}, "minimum balance"),
    ({"organisation_id": 1}, "is not a field"),
    ({"colour": "blue"}, "is not a field"),
])
def test_a_config_value_the_calendar_cannot_read_is_refused_and_nothing_stored(
        session, setting, refusal):
    org = _organisation(session)
    with pytest.raises(ValidationFailed, match=refusal):
        set_account_config(session, org.id, **setting)
    assert session.exec(select(AccountConfig)).all() == []


def test_good_values_are_stored_as_the_calendar_reads_them(session):
    org = _organisation(session, currency="JPY")
    row = set_account_config(session, org.id, holidays=["2026-12-25", " 2026-12-26"],
                             holiday_country="gb", reminder_days=["3", 7],
                             minimum_balance="-50", block_on_weekends="true")
    assert row.holidays == ["2026-12-25", "2026-12-26"] and row.holiday_country == "GB"
    assert row.reminder_days == [3, 7] and row.minimum_balance == D("-50")
    assert row.block_on_weekends is True
    with pytest.raises(ValidationFailed, match="minimum balance"):
        set_account_config(session, org.id, minimum_balance="0.5")  # yen have no decimals


def test_one_unreadable_account_is_skipped_and_named_the_others_move_on(make_hub_context,
                                                                         caplog):
    ctx = make_hub_context()
    with Session(ctx.engine, expire_on_commit=False) as s:
        ids = []
        for name in ("Broken", "Fine"):
            org = _organisation(s, name)
            invoice = Invoice(organisation_id=org.id, number=f"INV-{name}", currency="USD",
                              issue_date=dt.date(2026, 1, 1), due_date=dt.date(2026, 1, 15),
                              subtotal=D("100"), total=D("100"))
            s.add(invoice)
            s.flush()
            s.add(InvoiceLine(invoice_id=invoice.id, description="support",
                              unit_price=D("100"), amount=D("100")))
            post_invoice(s, invoice, today=dt.date(2026, 1, 1))
            set_account_config(s, org.id, blocking_days=2, deactivation_days=10)
            ids.append(org.id)
        # stored before the values were checked at entry
        s.exec(select(AccountConfig).where(AccountConfig.organisation_id == ids[0])
               ).one().holidays = ["2026-02-30"]
        s.commit()
    with caplog.at_level(logging.WARNING, logger="hub.ledger.account_states"):
        made = run_account_calendar(ctx, dt.date(2026, 3, 1))
    assert len(made) == 1
    with Session(ctx.engine) as s:
        changes = s.exec(select(AccountStateChange)).all()
    assert [(c.organisation_id, str(c.state)) for c in changes] == [(ids[1], "blocked")]
    assert f"organisation {ids[0]} skipped" in caplog.text
