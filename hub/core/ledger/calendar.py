"""The account calendar of seed 002's billing config: billing day, payment due, blocking and
deactivation, minimum balance, weekends and holidays, reminders.

Dates are computed from what the caller passes; nothing here reads the clock.

- The **billing day** (1-28) is the automatic document date and the start of the billing period.
- The **payment due** date is ``payment_due_days`` after the document date ("same as document
  date" is 0).
- A customer whose balance is below the **minimum balance** is blocked on the day after the
  payment due date plus the **blocking period** (seed: billed on the 1st, due on the 15th,
  blocked on the 16th), and deactivated ``deactivation_days`` after the block.
- With "block on weekends/holidays" turned off, a block or deactivation date falling on a weekend
  or holiday moves to the next working day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable

from dateutil.relativedelta import relativedelta

from hub.errors import ValidationFailed

__all__ = ["AccountCalendar", "CalendarDates", "next_billing_date", "dates_for", "is_blocked",
           "block_state", "next_working_day", "reminder_dates", "Reminder"]


@dataclass(frozen=True)
class AccountCalendar:
    """One customer's billing config."""

    billing_day: int = 1
    payment_due_days: int = 14
    blocking_days: int = 0
    deactivation_days: int = 30
    minimum_balance: Decimal = Decimal(0)
    block_on_weekends: bool = False
    block_on_holidays: bool = False
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    extra_holidays: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not 1 <= self.billing_day <= 28:
            raise ValidationFailed(f"billing day {self.billing_day} is outside 1-28",
                                   hint="use 28 or 1 for the end of the month (February)")
        for name in ("payment_due_days", "blocking_days", "deactivation_days"):
            if getattr(self, name) < 0:
                raise ValidationFailed(f"{name} must not be negative")

    def is_holiday(self, day: dt.date) -> bool:
        """True when ``day`` is in the configured holiday list or the country's holidays."""
        if day in self.extra_holidays:
            return True
        if self.holiday_country:
            # Imported here: its registry of every country's calendar takes about 0.1 s to
            # import, and most hubs name no holiday country (the ledger is imported by every
            # billing confirm).
            import holidays as holidays_lib

            return day in holidays_lib.country_holidays(
                self.holiday_country, subdiv=self.holiday_subdivision, years=day.year)
        return False


@dataclass(frozen=True)
class CalendarDates:
    """What the billing config calendar shows."""

    billing_date: dt.date
    due_date: dt.date
    block_date: dt.date
    deactivation_date: dt.date


def next_billing_date(on_or_after: dt.date, billing_day: int) -> dt.date:
    """The next document date with day ``billing_day`` on or after ``on_or_after``."""
    candidate = on_or_after.replace(day=billing_day)
    if candidate < on_or_after:
        candidate = candidate + relativedelta(months=1)
    return candidate


def next_working_day(day: dt.date, calendar: AccountCalendar) -> dt.date:
    """``day`` moved forward past weekends and holidays the calendar does not block on."""
    while ((not calendar.block_on_weekends and day.weekday() >= 5)
           or (not calendar.block_on_holidays and calendar.is_holiday(day))):
        day = day + dt.timedelta(days=1)
    return day


def dates_for(document_date: dt.date, calendar: AccountCalendar) -> CalendarDates:
    """Due, block and deactivation dates for an invoice dated ``document_date``."""
    due = document_date + dt.timedelta(days=calendar.payment_due_days)
    block = next_working_day(due + dt.timedelta(days=calendar.blocking_days + 1), calendar)
    deactivate = next_working_day(block + dt.timedelta(days=calendar.deactivation_days), calendar)
    return CalendarDates(document_date, due, block, deactivate)


def is_blocked(balance: Decimal, calendar: AccountCalendar) -> bool:
    """A balance below the minimum balance blocks the customer (on the block date)."""
    return balance < calendar.minimum_balance


def block_state(balance: Decimal, calendar: AccountCalendar, *, today: dt.date,
                block_date: dt.date, already_blocked: bool = False) -> str:
    """What the calendar shows: 'already blocked', 'will be blocked on DATE' or 'in the next
    billing cycle' (the balance meets the minimum)."""
    if already_blocked:
        return "already blocked"
    if not is_blocked(balance, calendar):
        return "in the next billing cycle"
    if today >= block_date:
        return "blocked"
    return f"will be blocked on {block_date.isoformat()}"


@dataclass(frozen=True)
class Reminder:
    """One reminder for one open invoice."""

    invoice_key: object
    days_after: int
    send_on: dt.date
    days_remaining: int


def reminder_dates(open_invoices: Iterable[tuple[object, dt.date]], reminder_days: Iterable[int],
                   today: dt.date) -> list[Reminder]:
    """Reminders for unpaid or partially paid invoices: one per configured day count, counted
    from each invoice's document date, with the days remaining from ``today`` (never below 0).
    """
    days = sorted(set(reminder_days))
    if any(d < 0 for d in days):
        raise ValidationFailed("reminder days must not be negative")
    result = []
    for key, document_date in open_invoices:
        for d in days:
            send_on = document_date + dt.timedelta(days=d)
            result.append(Reminder(key, d, send_on, max((send_on - today).days, 0)))
    return sorted(result, key=lambda r: (r.send_on, str(r.invoice_key)))
