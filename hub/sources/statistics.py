"""Planner statistics after a bulk pull: PostgreSQL plans billing's reads from the statistics of
each table, and autovacuum's ANALYZE comes only after its own delay; a billing run started
right after a pull that stored tens of thousands of rows was planned for the empty tables
(issue #21 measured a 100,000-organisation run at half its speed). So a pull that changed at
least :data:`ANALYZE_AFTER_ROWS` rows of a kind analyzes that kind's tables itself.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

__all__ = ["ANALYZE_AFTER_ROWS", "TABLES_OF_KIND", "refresh_statistics"]

log = logging.getLogger("hub.sources.statistics")

#: Rows created, updated or deleted in one pull of a kind that make its statistics stale.
ANALYZE_AFTER_ROWS = 10_000

#: The tables each pulled kind writes (see hub.db.models.catalogue).
TABLES_OF_KIND: dict[str, tuple[str, ...]] = {
    "organisations": ("organisation", "organisationmapping"),
    "contacts": ("contact",),
    "assets": ("asset",),
    "tickets": ("ticket", "ticketcharge"),
    "time_entries": ("ticketcharge",),
    "usage": ("usagesnapshot",),
}


def refresh_statistics(engine: Engine, kinds: dict[str, Any]) -> list[str]:
    """ANALYZE the tables of every kind whose report counts at least
    :data:`ANALYZE_AFTER_ROWS` changed rows, on PostgreSQL (SQLite plans without them).
    Returns the tables analyzed."""
    if engine.dialect.name != "postgresql":
        return []
    tables: list[str] = []
    for kind, report in kinds.items():
        changed = report.created + report.updated + report.deleted
        if changed >= ANALYZE_AFTER_ROWS:
            tables += [t for t in TABLES_OF_KIND.get(kind, ()) if t not in tables]
    if tables:
        with engine.begin() as conn:
            for table in tables:  # names from the fixed map above, never from input
                conn.execute(text(f'ANALYZE "{table}"'))
        log.info("analyzed %s after a bulk pull", ", ".join(tables))
    return tables
