"""The webhook inbox: store each processor event once, then apply it in a job.

:func:`store_events` inserts the events a plugin made of one webhook with
``INSERT ... ON CONFLICT (connection, event_id) DO NOTHING`` and returns the ids of the rows that
are new, so a processor delivering one event five times creates one row and one job.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from hub.db.engine import session_scope
from hub.db.models._base import utcnow
from hub.db.models.inbox import InboxEvent, InboxStatus
from hub.contract.records import PaymentEvent

__all__ = ["store_events"]


def _insert(engine: Engine):
    dialect = engine.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(InboxEvent)
    if dialect == "sqlite":
        return sqlite.insert(InboxEvent)
    raise NotImplementedError(f"the inbox supports SQLite and PostgreSQL, not {dialect}")


def store_events(engine: Engine, connection: str, events: Iterable[PaymentEvent],
                 lease_seconds: float, now: dt.datetime | None = None) -> list[int]:
    """Store ``events`` once each; returns the ids of the newly stored rows (to enqueue)."""
    now = now or utcnow()
    rows = [{"connection": connection, "event_id": event.event_id, "kind": str(event.kind),
             "status": InboxStatus.pending, "payload": event.model_dump(mode="json"),
             "attempts": 0, "received_at": now,
             "available_at": now + dt.timedelta(seconds=lease_seconds)}
            for event in events]
    if not rows:
        return []
    new_ids: list[int] = []
    with session_scope(engine) as session:
        for row in rows:  # one statement per event: RETURNING tells us which were new
            statement = (_insert(engine).values(**row)
                         .on_conflict_do_nothing(index_elements=["connection", "event_id"])
                         .returning(InboxEvent.id))
            new_id = session.execute(statement).scalar_one_or_none()
            if new_id is not None:
                new_ids.append(new_id)
    return new_ids
