"""What a pull reports: counts per kind of record and the companies that are not mapped."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import StringConstraints, TypeAdapter, ValidationError

from hub.errors import ValidationFailed

__all__ = ["KindReport", "PullReport", "month_of", "usage_month"]


@dataclass
class KindReport:
    """What a pull did to one kind of record."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    unmapped: int = 0
    pages: int = 0
    full: bool = False

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class PullReport:
    """The outcome of pulling one connection: counts per kind and what is not mapped."""

    connection: str
    kinds: dict[str, KindReport] = field(default_factory=dict)
    #: (external id, name at the source if known) of every company seen without an organisation.
    unmapped_organisations: list[tuple[str, str | None]] = field(default_factory=list)
    #: (external id, name, organisation id, why) of companies an import mapped to an existing
    #: organisation by a cross-reference instead of creating a duplicate.
    matched_organisations: list[tuple[str, str, int, str]] = field(default_factory=list)
    #: (external id, name, organisation id, why) of companies not imported because an
    #: organisation of the same name exists: a person confirms with `hub mapping set`.
    possible_matches: list[tuple[str, str, int, str]] = field(default_factory=list)

    def _sum(self, name: str) -> int:
        return sum(getattr(report, name) for report in self.kinds.values())

    @property
    def created(self) -> int:
        return self._sum("created")

    @property
    def updated(self) -> int:
        return self._sum("updated")

    @property
    def unchanged(self) -> int:
        return self._sum("unchanged")

    @property
    def deleted(self) -> int:
        return self._sum("deleted")

    @property
    def unmapped(self) -> int:
        return self._sum("unmapped")

    @property
    def changed(self) -> bool:
        """True when the pull wrote anything."""
        return bool(self.created or self.updated or self.deleted)

    def summary(self) -> str:
        """One line for logs and the CLI."""
        return (f"{self.connection}: {self.created} created, {self.updated} updated, "
                f"{self.unchanged} unchanged, {self.deleted} deleted, {self.unmapped} unmapped")


def month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar month containing ``day``, as (first day, last day)."""
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


#: A usage month as users write it: ``YYYY-MM`` (pydantic checks the shape, the calendar the rest).
_MONTH = TypeAdapter(Annotated[str, StringConstraints(strip_whitespace=True,
                                                      pattern=r"^\d{4}-(0[1-9]|1[0-2])$")])


def usage_month(text: str) -> tuple[dt.date, dt.date]:
    """The month ``YYYY-MM`` (e.g. ``2026-11``) as (first day, last day): the period whose vendor
    usage a pull asks for. Anything else is refused with :class:`ValidationFailed`."""
    try:
        value = _MONTH.validate_python(text)
    except ValidationError:
        raise ValidationFailed(f"{text!r} is not a month",
                               hint="write it as YYYY-MM, e.g. --period 2026-11") from None
    year, month = (int(part) for part in value.split("-"))
    if year < 2000:
        raise ValidationFailed(f"{text!r} is not a month the hub bills",
                               hint="write it as YYYY-MM, e.g. --period 2026-11")
    return month_of(dt.date(year, month, 1))
