"""Invoice groups: synchronised billing dates (seed 001).

A group aligns its agreements (recurring invoices) to one date, e.g. the 1st of each month.
An agreement joining the group has its next invoice date moved to the group's date, and the
days in between are charged pro-rata: a group aligned to the 1st whose next date is 1 December,
joined by an agreement dated 16 November → pro-rata 16–30 November, next invoice 1 December.
The *master agreement* advances the group's date each time it is invoiced, so nobody has to
move the alignment date by hand. An account can require every new agreement to join a group;
when it does and exactly one group matches, that group is chosen automatically.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

from dateutil.relativedelta import relativedelta

from hub.core.periods import Cadence, Period
from hub.core.prorata import Segment
from hub.errors import ValidationFailed

__all__ = ["GroupRef", "JoinPlan", "plan_join", "advance_group", "choose_group"]


@dataclass(frozen=True)
class GroupRef:
    """What the rules need of an invoice group."""

    id: int
    description: str
    cadence: Cadence
    next_date: dt.date
    currency: str = "USD"


@dataclass(frozen=True)
class JoinPlan:
    """What joining a group does to an agreement: its new next invoice date and the pro-rata
    segment from its own date up to the day before (``None`` when already aligned)."""

    next_date: dt.date
    prorata: Segment | None


def plan_join(agreement_date: dt.date, group: GroupRef) -> JoinPlan:
    """Align an agreement whose next invoice date is ``agreement_date`` to ``group``."""
    aligned = group.next_date
    if agreement_date > aligned:
        # The group's date has already passed for this agreement: use the next aligned date.
        aligned = group.cadence.start_on_or_after(agreement_date)
    if agreement_date == aligned:
        return JoinPlan(next_date=aligned, prorata=None)
    covered = Period(agreement_date, aligned - relativedelta(days=1))
    period = group.cadence.period_for(agreement_date)
    return JoinPlan(next_date=aligned, prorata=Segment(covered, period))


def advance_group(group: GroupRef, master_next_date: dt.date) -> dt.date:
    """The group's date after its master agreement was invoiced: the master's next date, never
    earlier than the group's current one."""
    return max(group.next_date, master_next_date)


def choose_group(candidates: Sequence[GroupRef], *, required: bool,
                 chosen_id: int | None = None) -> GroupRef | None:
    """The group a new agreement joins.

    An explicit choice must be one of ``candidates``. Without one: if the account requires a
    group and exactly one matches it is chosen automatically; several matches or none is a
    refusal that says what to do. If no group is required, none is chosen.
    """
    if chosen_id is not None:
        for group in candidates:
            if group.id == chosen_id:
                return group
        raise ValidationFailed(f"invoice group {chosen_id} is not one of this account's groups",
                               hint="pick one of: " + (", ".join(
                                   f"{g.id} ({g.description})" for g in candidates) or "none"))
    if not required:
        return None
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ValidationFailed("this account requires new agreements to join an invoice group, "
                               "and it has none", hint="create an invoice group first")
    raise ValidationFailed(
        "this account requires an invoice group and several match",
        hint="choose one with --group: " + ", ".join(f"{g.id} ({g.description})"
                                                     for g in candidates))
