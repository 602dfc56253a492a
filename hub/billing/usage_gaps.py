"""Warning when a run bills vendor usage for a period no usage was stored for.

A vendor-usage line counts the usage snapshots a pull (or import) stored. If nothing was pulled
for the period yet — a preview for next month, a pull that failed — the line quietly bills 0
licences, which is almost never what the MSP wants. The preview batch says so instead, once
per usage connection and period, so the admin pulls first and previews again.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import exists, select
from sqlalchemy.engine import Engine

from hub.sources.stored_counters import counts_live
from hub.contract.connections import Connection
from hub.db.models import UsageSnapshot

__all__ = ["usage_gap_notes"]


def usage_gap_notes(engine: Engine, connections: Iterable[Connection],
                    periods: Iterable[tuple[dt.date, dt.date]]) -> list[str]:
    """One note per (usage connection, period) for which no usage snapshot is stored.

    ``connections``: the usage-capable connections; those counting live at the vendor are left
    out (they store nothing to miss). ``periods``: the periods vendor-usage lines billed.
    """
    stored = [c for c in connections if not counts_live(c)]
    notes = []
    with engine.connect() as conn:
        for start, end in sorted(set(periods)):
            for connection in stored:
                held = conn.execute(select(exists().where(
                    UsageSnapshot.source == connection.name,
                    UsageSnapshot.deleted_at_source.is_(None),
                    UsageSnapshot.period_start <= end,
                    UsageSnapshot.period_end >= start))).scalar()
                if not held:
                    notes.append(
                        f"no usage from {connection.name} is stored for {start:%d %b %Y} – "
                        f"{end:%d %b %Y}: vendor-usage lines bill 0 from it. Pull or import "
                        f"that period's usage (`hub pull {connection.name} --kind usage`) "
                        f"before confirming, then preview again")
    return notes
