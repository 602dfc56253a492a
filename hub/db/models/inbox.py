"""The webhook inbox: every processor event stored once, then processed by a job.

``(connection, event_id)`` is unique, so a processor delivering the same event five times
stores one row and the ledger sees it once.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Optional

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.db.models._base import json_field, timestamp_field


class InboxStatus(StrEnum):
    """Where an inbox event stands."""

    pending = "pending"        # stored; a job will apply it
    processed = "processed"    # applied to the ledger (or found already applied)
    failed = "failed"          # could not be applied; ``error`` says why; replayable


class InboxEvent(SQLModel, table=True):
    """One normalised processor event (``hub.contract.records.PaymentEvent`` as JSON)."""

    __tablename__ = "inbox_event"
    __table_args__ = (UniqueConstraint("connection", "event_id", name="uq_inbox_event"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    connection: str = Field(index=True)
    event_id: str
    kind: str
    status: InboxStatus = Field(default=InboxStatus.pending, index=True)
    payload: dict[str, Any] = json_field()
    attempts: int = 0
    error: Optional[str] = None
    received_at: dt.datetime = timestamp_field()
    available_at: dt.datetime = timestamp_field(
        index=True)  # lease: a pending row past it lost its message and is sent again
    processed_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
