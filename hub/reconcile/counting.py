"""Counting as billing counts: the same counter hooks, connections and de-duplication rule.

Usage and asset reconciliation ask "how many would a counter line bill *now*?" and compare that
with what was billed, or with what exists. Asking through billing's own :class:`Counter` (the
hub's pseudo-connection plus every enabled connection, an item counted by two sources taken
once) keeps the report from disagreeing with the billing run about what a count means.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Mapping

from sqlalchemy import select
from sqlalchemy.engine import Engine

from hub.billing.counters import Counter, CountResult
from hub.db.models import OrganisationMapping, RecurringLine

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["Counting"]


class Counting:
    """Counter hooks plus the lookups a count needs (mapping ids, template filters)."""

    def __init__(self, ctx: "HubContext", reader: Engine) -> None:
        self.reader = reader
        self.counter = Counter(ctx.plugins.pm, ctx.connections(), reader)
        self.external_ids = lru_cache(maxsize=10_000)(self._external_ids)
        self.template_filters = lru_cache(maxsize=10_000)(self._template_filters)

    def count(self, kind: str, organisation_id: int, filters: Mapping[str, Any],
              start: dt.date, end: dt.date) -> CountResult:
        """What a counter line with ``filters`` would count for this organisation and period."""
        return self.counter.count(kind, organisation_id=organisation_id,
                                  external_ids=dict(self.external_ids(organisation_id)),
                                  filters=filters, period_start=start, period_end=end)

    def _external_ids(self, organisation_id: int) -> tuple[tuple[str, str], ...]:
        with self.reader.connect() as conn:
            return tuple(conn.execute(
                select(OrganisationMapping.connection, OrganisationMapping.external_id)
                .where(OrganisationMapping.organisation_id == organisation_id)).all())

    def _template_filters(self, source_line_key: str | None) -> Mapping[str, Any] | None:
        """The counter filters of the template line an invoice line came from (``line:ID``)."""
        if not source_line_key or not source_line_key.startswith("line:"):
            return None
        try:
            line_id = int(source_line_key.removeprefix("line:"))
        except ValueError:
            return None
        with self.reader.connect() as conn:
            return conn.execute(select(RecurringLine.counter_filters)
                                .where(RecurringLine.id == line_id)).scalar()
