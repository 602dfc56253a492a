"""What every reconciliation section shares: the :class:`Difference` it reports, the
:class:`Options` it runs with, and the progress callback it feeds.

A section is a function ``run(ctx, options, progress) -> Iterable[Difference]``. It reads the
hub's stored rows and asks plugins through their read-only hooks; it never writes (the database
connections it uses are opened read-only, see :mod:`hub.reconcile.reading`). Each difference
says which organisation and document, which two systems disagree, what each says, how much money
is at stake, the likely cause and, where the hub can fix it, the command that does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

from hub.core.money import Money

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["Difference", "Options", "Progress", "NullProgress", "Section", "Totals",
           "DEFAULT_STALE_DAYS", "ADD_TO_NEXT_INVOICE"]

#: Billable time older than this many days and still not invoiced is reported.
DEFAULT_STALE_DAYS = 30

#: The fix for a leak the next recurring invoice can pick up.
ADD_TO_NEXT_INVOICE = "add to next invoice"


@dataclass(frozen=True)
class Difference:
    """One thing two systems disagree about.

    ``kind`` is a stable machine name (``missing_in_accounting``, ``total_differs``,
    ``usage_differs``, ...); ``hub_value`` and ``other_value`` are what each side says, as text a
    person reads ("43", "120.00 USD", "absent"); ``at_stake`` is the money the difference is worth
    (never negative); ``fix`` is a command or action when the hub can fix it, else ``None``.
    """

    section: str
    kind: str
    organisation_id: int | None
    document: str
    systems: str
    hub_value: str
    other_value: str
    at_stake: Money
    cause: str
    fix: str | None = None
    connection: str | None = None
    organisation: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Rounded once, here, so every output and every total adds up the same way.
        if self.at_stake.is_negative:
            raise ValueError(f"money at stake cannot be negative ({self.at_stake})")
        object.__setattr__(self, "at_stake", self.at_stake.rounded())

    def as_dict(self) -> dict[str, Any]:
        """Plain values for CSV and JSON (money as exact decimal text)."""
        return {
            "section": self.section, "kind": self.kind,
            "organisation_id": self.organisation_id, "organisation": self.organisation,
            "document": self.document, "systems": self.systems, "connection": self.connection,
            "hub_value": self.hub_value, "other_value": self.other_value,
            "at_stake": format(self.at_stake.amount, "f"), "currency": self.at_stake.currency,
            "cause": self.cause, "fix": self.fix,
        }


@dataclass(frozen=True)
class Options:
    """What to reconcile: a date window, one organisation, one connection, staleness."""

    today: dt.date
    since: dt.date | None = None
    until: dt.date | None = None
    organisation_id: int | None = None
    connection: str | None = None
    stale_days: int = DEFAULT_STALE_DAYS

    def in_window(self, day: dt.date | None) -> bool:
        """True when ``day`` is inside ``since..until`` (both inclusive; unknown days are in)."""
        if day is None:
            return True
        if self.since is not None and day < self.since:
            return False
        return self.until is None or day <= self.until


class Progress(Protocol):
    """Told what a section is doing, so the CLI can draw a progress bar."""

    def start(self, section: str, description: str, total: int | None = None) -> None: ...

    def advance(self, count: int = 1) -> None: ...


class NullProgress:
    """A progress sink that shows nothing (library use, tests, benchmarks)."""

    def start(self, section: str, description: str, total: int | None = None) -> None:
        return None

    def advance(self, count: int = 1) -> None:
        return None


Section = Callable[["HubContext", Options, Progress], Iterable[Difference]]


@dataclass
class Totals:
    """Count and money at stake, per section and per currency."""

    count: int = 0
    by_currency: dict[str, Money] = field(default_factory=dict)
    by_section: dict[str, tuple[int, dict[str, Money]]] = field(default_factory=dict)

    def add(self, difference: Difference) -> None:
        """Count ``difference`` in."""
        money = difference.at_stake
        self.count += 1
        self.by_currency[money.currency] = (
            self.by_currency.get(money.currency, Money.zero(money.currency)) + money)
        count, sums = self.by_section.get(difference.section, (0, {}))
        sums[money.currency] = sums.get(money.currency, Money.zero(money.currency)) + money
        self.by_section[difference.section] = (count + 1, sums)

    @classmethod
    def of(cls, differences: Iterable[Difference]) -> "Totals":
        """Totals of ``differences``."""
        totals = cls()
        for difference in differences:
            totals.add(difference)
        return totals
