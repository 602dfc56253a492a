"""Billing contracts and billing cycles (seed 004, Work 365).

A billing contract is invoiced cycle by cycle. Generating an invoice offers the contract's
cycles with the *next un-invoiced cycle preselected*. Choosing a cycle that already has an
invoice is refused unless *replace* is asked for; replacing makes a new invoice and leaves the
existing one alone (it is neither deleted nor deactivated). Post-invoicing tasks (charge, sync,
send) run only when asked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

from hub.core.periods import Cadence, Period
from hub.errors import NotFound, ValidationFailed

__all__ = ["CycleRef", "CycleChoice", "build_cycles", "anchored_cycles", "next_uninvoiced",
           "choose_cycle", "POST_INVOICING_TASKS"]

#: The automations a generated invoice may trigger, when asked (seed 004).
POST_INVOICING_TASKS = ("charge", "sync", "send")


@dataclass(frozen=True)
class CycleRef:
    """One billing cycle of a contract and the invoice it currently has, if any."""

    number: int
    period: Period
    invoice_id: int | None = None

    @property
    def invoiced(self) -> bool:
        """True once an invoice exists for the cycle."""
        return self.invoice_id is not None


@dataclass(frozen=True)
class CycleChoice:
    """The cycle to invoice and, when replacing, the invoice being replaced (left as it is)."""

    cycle: CycleRef
    replaces_invoice_id: int | None = None


def build_cycles(cadence: Cadence, start: dt.date, count: int) -> list[Period]:
    """``count`` consecutive cycles, the first starting on ``start``'s period."""
    periods = []
    day = start
    for _ in range(count):
        period = cadence.period_for(day)
        periods.append(Period(max(period.start, start), period.end))
        day = cadence.next_start_after(period.start)
    return periods


def anchored_cycles(cadence: Cadence, start: dt.date, count: int) -> list[Period]:
    """``count`` whole cycles anchored on ``start``'s own day.

    Each cycle starts ``n`` steps after ``start``, counted from ``start`` every time (not from
    the previous cycle), so a contract started on the 31st runs 31 Jan–27 Feb, 28 Feb–30 Mar,
    31 Mar–29 Apr, 30 Apr–30 May, 31 May–...: a short month moves one cycle's start to its last
    day and the next cycle returns to the 31st. Counting from the previous cycle (or clamping
    the billing day to 28) would drift to the 28th for good (#19).
    """
    def start_of(n: int) -> dt.date:
        return start + cadence.step * n  # relativedelta clips to the month's last day

    return [Period(start_of(n), start_of(n + 1) - dt.timedelta(days=1)) for n in range(count)]


def next_uninvoiced(cycles: Sequence[CycleRef]) -> CycleRef | None:
    """The cycle preselected by default: the earliest one without an invoice."""
    pending = [c for c in cycles if not c.invoiced]
    return min(pending, key=lambda c: c.number) if pending else None


def choose_cycle(cycles: Sequence[CycleRef], number: int | None = None, *,
                 replace: bool = False) -> CycleChoice:
    """The cycle to invoice: ``number`` if given, else the next un-invoiced one."""
    if number is None:
        cycle = next_uninvoiced(cycles)
        if cycle is None:
            raise ValidationFailed("every billing cycle of this contract is already invoiced",
                                   hint="pick a cycle with --cycle N and pass --replace "
                                        "to invoice it again, or add cycles")
        return CycleChoice(cycle)
    for cycle in cycles:
        if cycle.number == number:
            break
    else:
        raise NotFound(f"billing cycle {number} does not exist",
                       hint="cycles are " + ", ".join(str(c.number) for c in cycles))
    if cycle.invoiced and not replace:
        raise ValidationFailed(
            f"billing cycle {number} is already invoiced (invoice {cycle.invoice_id})",
            hint="pass --replace to make a new invoice for it (the existing one is kept)")
    return CycleChoice(cycle, replaces_invoice_id=cycle.invoice_id if cycle.invoiced else None)
