"""Planner statistics that keep up with bulk writes (PostgreSQL).

PostgreSQL plans each query from the statistics ANALYZE last gathered on its tables. Autovacuum
refreshes them once a table has changed by more than ``50 + 10 %`` of its rows, but only on its
own schedule (a minute or more later); until then a table loaded in bulk, or filled by the
billing run itself, is planned as the empty or much smaller table it was: index look-ups become
sequential scans, once per chunk (issue #21 measured a 100,000-organisation run on a freshly
loaded database at less than half its speed). :func:`refresh_stale` applies autovacuum's own
rule at once: it ANALYZEs the named tables that autovacuum would analyze next, and nothing
else, so on a database whose statistics are current it only reads ``pg_stat_user_tables``.
SQLite plans without such statistics: there it does nothing.
"""

from __future__ import annotations

import logging
from typing import Iterable

from sqlalchemy import text
from sqlalchemy.engine import Engine

__all__ = ["STALE_BASE_ROWS", "STALE_FRACTION", "refresh_stale"]

log = logging.getLogger("hub.db.statistics")

#: Autovacuum's defaults (``autovacuum_analyze_threshold`` and ``_scale_factor``): a table's
#: statistics are stale once more than this many rows plus this fraction of its rows at the
#: last ANALYZE have changed since.
STALE_BASE_ROWS = 50
STALE_FRACTION = 0.1

_STALE = text("""
    SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.schemaname = current_schema() AND s.relname = ANY(:tables)
      AND s.n_mod_since_analyze > :base + :fraction * GREATEST(c.reltuples, 0)
    ORDER BY s.relname""")


def refresh_stale(engine: Engine, tables: Iterable[str]) -> list[str]:
    """ANALYZE those of ``tables`` whose statistics autovacuum would call stale (see the
    module docstring); returns their names. Runs in its own transaction: what the caller has
    committed is what is measured. ``tables`` are the code's own table names, never input."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.begin() as conn:
        stale = list(conn.execute(_STALE, {"tables": sorted(set(tables)),
                                           "base": STALE_BASE_ROWS,
                                           "fraction": STALE_FRACTION}).scalars())
        for table in stale:  # names read back from the catalogue, quoted
            conn.execute(text(f'ANALYZE "{table}"'))
    if stale:
        log.info("analyzed %s: their statistics were stale", ", ".join(stale))
    return stale
