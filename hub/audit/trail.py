"""Writing and reading the audit trail (:class:`hub.db.models.audit.AuditEvent`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session as OrmSession

from hub.audit.actor import current_actor
from hub.db.models._base import utcnow
from hub.db.models.audit import AuditEvent

__all__ = ["record", "list_events", "EventPage"]


def record(session: OrmSession, action: str, target_type: str | None = None,
           target_id: Any = None, *, summary: str = "", detail: dict[str, Any] | None = None,
           actor: str | None = None, via: str | None = None,
           at: dt.datetime | None = None) -> AuditEvent:
    """Add one audit row to ``session`` (it commits with the change it describes).

    ``actor``/``via`` default to :func:`hub.audit.current_actor`."""
    who = current_actor()
    row = AuditEvent(at=at or utcnow(), actor=actor or who.name, via=via or who.via,
                     action=action, target_type=target_type,
                     target_id=None if target_id is None else str(target_id),
                     summary=summary[:2000], detail=_plain(detail or {}))
    session.add(row)
    return row


def _plain(value: Any) -> Any:
    """JSON-safe detail: decimals and dates as text (money stays exact)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


@dataclass
class EventPage:
    """One page of the trail, newest first."""

    events: list[AuditEvent]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages the filter gives (at least one)."""
        return max(1, -(-self.total // self.per_page))


def list_events(session: OrmSession, *, actor: str | None = None, action: str | None = None,
                target_type: str | None = None, target_id: Any = None, page: int = 1,
                per_page: int = 50) -> EventPage:
    """Audit rows matching the filters (``actor``/``action`` match a prefix), newest first."""
    t = AuditEvent.__table__
    conditions = []
    if actor:
        conditions.append(t.c.actor.startswith(actor, autoescape=True))
    if action:
        conditions.append(t.c.action.startswith(action, autoescape=True))
    if target_type:
        conditions.append(t.c.target_type == target_type)
    if target_id not in (None, ""):
        conditions.append(t.c.target_id == str(target_id))
    page = max(1, page)
    total = session.execute(select(func.count()).select_from(t).where(*conditions)).scalar_one()
    rows = session.execute(select(AuditEvent).where(*conditions).order_by(t.c.id.desc())
                           .offset((page - 1) * per_page).limit(per_page)).scalars().all()
    return EventPage(list(rows), page, per_page, total)
