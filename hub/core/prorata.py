"""Pro-rata: charging part of a billing period, by days.

Seed 002 (Splynx) billing always pro-rates "from the service start date to the end of the first
billing cycle and then continue[s] to bill as per the normal billing period":

- Example A: service start 15 March, billing day 1, invoice made in March → 15–31 March;
  the next invoice → 1–30 April.
- Example B: same service, first invoice made in April → 15 March–30 April.

:func:`coverage` splits what an invoice covers into :class:`Segment` s, one per billing period
touched; a segment that does not cover its whole period carries the fraction
``days covered / days in the period``, which :func:`prorate` applies and :meth:`Segment.explain`
spells out (e.g. ``15 Mar 2026–31 Mar 2026: 17/31 days``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cached_property, lru_cache

from hub.core.money import Money
from hub.core.periods import Cadence, Period

__all__ = ["Segment", "coverage", "prorate", "scale"]


@dataclass(frozen=True)
class Segment:
    """The covered part of one billing period."""

    covered: Period
    period: Period

    @cached_property
    def fraction(self) -> Fraction:
        """Days covered over days in the period (1 for a whole period)."""
        return Fraction(self.covered.days, self.period.days)

    @property
    def is_partial(self) -> bool:
        """True when only part of the period is covered (a pro-rata charge)."""
        return self.covered != self.period

    def explain(self) -> str:
        """Why the amount is what it is, in words a customer can check."""
        if not self.is_partial:
            return f"{self.covered.label()}: full period"
        return (f"{self.covered.label()}: {self.covered.days}/{self.period.days} days "
                f"of {self.period.label()}")


def coverage(cadence: Cadence, covered_from: dt.date, through: dt.date) -> tuple[Segment, ...]:
    """Segments covering ``covered_from``..``through`` (``through`` is normally the end of the
    period being billed). The first segment is partial when service starts mid-period."""
    if through < covered_from:
        raise ValueError(f"nothing to cover: {covered_from} is after {through}")
    return _coverage(cadence, covered_from, through)


@lru_cache(maxsize=4096)
def _coverage(cadence: Cadence, covered_from: dt.date, through: dt.date) -> tuple[Segment, ...]:
    # Cached (immutable result): most schedules of a run share their dates.
    return tuple(Segment(Period(max(p.start, covered_from), min(p.end, through)), p)
                 for p in cadence.periods_between(covered_from, through))


def scale(value: Decimal, fraction: Fraction) -> Decimal:
    """``value × fraction`` in Decimal, without going through float."""
    if fraction == 1:
        return value
    return value * Decimal(fraction.numerator) / Decimal(fraction.denominator)


def prorate(amount: Money, fraction: Fraction) -> Money:
    """``amount × fraction``, rounded to the currency's minor unit (half-up)."""
    return Money(scale(amount.amount, fraction), amount.currency).rounded()
