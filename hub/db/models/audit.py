"""The audit trail: one append-only row per state change, whoever made it and however.

Rows are written by :func:`hub.audit.record` in the same transaction as the change they
describe, and are never updated or deleted: the ORM refuses to (:func:`_append_only`, registered
with the model so the rule holds wherever an audit row can be flushed) and so does the migrated
database itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import Index, event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel

from hub.db.models._base import json_field, timestamp_field
from hub.errors import ValidationFailed


class AuditEvent(SQLModel, table=True):
    """Who (``actor``, e.g. ``user:ann``, ``token:ci``, ``cli:root``, ``system``) did what
    (``action``, e.g. ``batch.confirmed``) to which document (``target_type``, ``target_id``),
    through which door (``via``: web, api, cli, job), when."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_target", "target_type", "target_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    at: dt.datetime = timestamp_field(index=True)
    actor: str = Field(max_length=200, index=True)
    via: str = Field(default="system", max_length=20)
    action: str = Field(max_length=100, index=True)
    target_type: Optional[str] = Field(default=None, max_length=50)
    target_id: Optional[str] = Field(default=None, max_length=100)
    summary: str = ""
    detail: dict[str, Any] = json_field()


@event.listens_for(OrmSession, "before_flush")
def _append_only(session: OrmSession, flush_context, instances) -> None:
    """The trail is append-only: refuse to flush a change to or deletion of an audit row."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise ValidationFailed("the audit trail is append-only: its rows are never changed "
                                   "or deleted")
