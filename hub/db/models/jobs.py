"""The runtime's own tables: job records, scheduler slot claims and connection state.

``JobRecord``: a job that failed (with the reason) or was retried, so ``hub jobs list --failed``
can show it and ``hub jobs retry`` can replay it. Successful runs leave their trace on the
outbox row and the document instead, which keeps the hot path to one write per batch.

``ScheduleClaim``: one row per (job, due slot). Every scheduler inserts the row before running
the slot; the unique constraint lets exactly one of two concurrent schedulers win.

``ConnectionStateEntry``: a plugin's durable key/value state per connection (tokens, cursors),
``version`` makes ``compare_and_set`` an atomic optimistic update on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Optional

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.db.models._base import json_field, timestamp_field


class JobStatus(StrEnum):
    """Where a recorded job stands."""

    failed = "failed"          # gave up (permanent error or retries exhausted); replayable
    requested = "requested"    # `hub jobs retry` asked for a replay; a dispatcher sends it
    retried = "retried"        # replayed; kept for the history


class JobRecord(SQLModel, table=True):
    """A failed (or replayed) job: what ran, with which ids, and why it stopped."""

    __tablename__ = "job_record"
    id: Optional[int] = Field(default=None, primary_key=True)
    actor: str = Field(index=True)
    args: list[Any] = json_field(list)
    status: JobStatus = Field(default=JobStatus.failed, index=True)
    connection: Optional[str] = Field(default=None, index=True)
    outbox_id: Optional[int] = Field(default=None, index=True)
    document_kind: Optional[str] = None
    document_id: Optional[int] = None
    attempts: int = 0
    reason: str = ""
    message_id: Optional[str] = None
    created_at: dt.datetime = timestamp_field()
    retried_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)


class ScheduleClaim(SQLModel, table=True):
    """A scheduler's claim on one due slot of one scheduled job (see module docstring)."""

    __tablename__ = "schedule_claim"
    __table_args__ = (UniqueConstraint("job", "slot", name="uq_schedule_claim_slot"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    job: str = Field(description="e.g. 'pull:ninjaone' or 'billing_run'")
    slot: dt.datetime = timestamp_field(index=True)
    claimed_by: str = ""
    claimed_at: dt.datetime = timestamp_field()


class ConnectionStateEntry(SQLModel, table=True):
    """One key of one connection's durable state. ``value`` is JSON text, or a Fernet token
    of JSON text when ``secret``."""

    __tablename__ = "connection_state"
    __table_args__ = (UniqueConstraint("connection", "key", name="uq_connection_state_key"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    connection: str = Field(index=True)
    key: str
    value: str = Field(sa_column=Column(Text, nullable=False))
    secret: bool = False
    version: int = 1
    updated_at: dt.datetime = timestamp_field()
