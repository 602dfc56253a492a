"""Billing periods: frequencies, billing days and the period a date falls in.

Seed 002 (Splynx): the *billing day* (1–28) is both the day invoices are made and the first day
of the billing period — billing day 1 bills the 1st to the end of the month, billing day 10 bills
the 10th to the 9th of the next month. It stops at 28 so every month has it (February).

A :class:`Cadence` is a frequency (monthly, quarterly, yearly, every N months, every N weeks),
a billing day and an anchor that fixes which months (or which weeks) start a period, so a
quarterly schedule anchored in February runs Feb–Apr, May–Jul, ... Pure: dates in, dates out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from dateutil.relativedelta import relativedelta

__all__ = ["Frequency", "Period", "Cadence", "MAX_BILLING_DAY"]

MAX_BILLING_DAY = 28


class Frequency(StrEnum):
    """How often a schedule bills. ``months``/``weeks`` take an interval (every N ...)."""

    monthly = "monthly"
    quarterly = "quarterly"
    yearly = "yearly"
    months = "months"
    weeks = "weeks"


@dataclass(frozen=True, order=True)
class Period:
    """A closed date range ``start``..``end`` (both days included)."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        """Number of days in the period, both ends counted."""
        return (self.end - self.start).days + 1

    def __contains__(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def label(self) -> str:
        """``15 Mar 2026–31 Mar 2026``: how periods are shown on invoices."""
        return f"{self.start:%d %b %Y}–{self.end:%d %b %Y}"


@lru_cache(maxsize=4096)
def _period_for(cadence: "Cadence", day: dt.date) -> Period:
    # Cached: a billing run asks the same few (cadence, day) pairs for every organisation.
    start = cadence._start_on_or_before(day)
    return Period(start, start + cadence.step - relativedelta(days=1))


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


@dataclass(frozen=True)
class Cadence:
    """When periods start. ``anchor`` is any date on which a period starts (for month-based
    frequencies only its month matters; for weeks it is the exact first day)."""

    frequency: Frequency = Frequency.monthly
    interval: int = 1
    billing_day: int = 1
    anchor: dt.date = dt.date(2000, 1, 1)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frequency", Frequency(self.frequency))
        if not 1 <= self.billing_day <= MAX_BILLING_DAY:
            raise ValueError(f"billing day {self.billing_day} is outside 1–{MAX_BILLING_DAY}: "
                             "use 28 or 1 for the end of the month (seed 002)")
        if self.interval < 1:
            raise ValueError("interval must be at least 1")
        if self.frequency in (Frequency.monthly, Frequency.quarterly, Frequency.yearly) \
                and self.interval != 1:
            raise ValueError(f"{self.frequency} takes no interval; use 'months' with an interval")

    @property
    def months(self) -> int:
        """Months per period (0 for weekly cadences)."""
        return {Frequency.monthly: 1, Frequency.quarterly: 3, Frequency.yearly: 12,
                Frequency.months: self.interval, Frequency.weeks: 0}[self.frequency]

    @property
    def step(self) -> relativedelta:
        """The length of one period."""
        if self.frequency is Frequency.weeks:
            return relativedelta(weeks=self.interval)
        return relativedelta(months=self.months)

    def period_for(self, day: dt.date) -> Period:
        """The billing period that contains ``day``."""
        return _period_for(self, day)

    def next_start_after(self, day: dt.date) -> dt.date:
        """The first period start strictly after ``day``."""
        return self.period_for(day).end + relativedelta(days=1)

    def start_on_or_after(self, day: dt.date) -> dt.date:
        """``day`` if a period starts on it, else the next period start."""
        start = self._start_on_or_before(day)
        return start if start == day else self.next_start_after(day)

    def periods_between(self, first_day: dt.date, last_day: dt.date) -> list[Period]:
        """Every period overlapping ``first_day``..``last_day``, in order."""
        result = []
        period = self.period_for(first_day)
        while period.start <= last_day:
            result.append(period)
            period = self.period_for(period.end + relativedelta(days=1))
        return result

    def _start_on_or_before(self, day: dt.date) -> dt.date:
        if self.frequency is Frequency.weeks:
            length = 7 * self.interval
            offset = (day - self.anchor).days % length
            return day - dt.timedelta(days=offset)
        candidate = day.replace(day=self.billing_day) if day.day >= self.billing_day else (
            day.replace(day=1) - relativedelta(months=1)).replace(day=self.billing_day)
        misaligned = (_month_index(candidate) - _month_index(self.anchor)) % self.months
        return candidate - relativedelta(months=misaligned)
