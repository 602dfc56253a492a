"""The outbox and the record of what exists where.

``OutboxEntry``: an external effect requested in the same transaction as the state change that
needs it (push a document, charge a card, send an invoice). The dispatcher turns pending rows
into job messages; jobs carry only the row id. ``(effect, document_kind, document_id,
connection)`` is unique, so asking twice for the same effect is harmless.

``ExternalLink``: one external document per (hub document, connection), and one hub document per
(connection, external id) — both held by unique constraints, which is what makes a replayed push
unable to create a second copy on our side.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Optional

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.db.models._base import json_field, timestamp_field


class Effect(StrEnum):
    """What an outbox row asks for."""

    push = "push"
    void = "void"
    charge = "charge"
    refund = "refund"
    send = "send"


class OutboxStatus(StrEnum):
    """Where an outbox row stands."""

    pending = "pending"        # waiting to be dispatched (or re-dispatched at available_at)
    dispatched = "dispatched"  # a message is on the queue
    done = "done"              # effect achieved (or found already achieved)
    failed = "failed"          # permanent failure; last_error has the vendor's message


class OutboxEntry(SQLModel, table=True):
    """A requested external effect (see module docstring)."""

    __table_args__ = (UniqueConstraint("effect", "document_kind", "document_id", "connection",
                                       "generation", name="uq_outbox_effect"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    effect: Effect
    document_kind: str = Field(description="invoice, credit_note, payment")
    document_id: int = Field(index=True)
    connection: str = Field(index=True)
    generation: int = Field(default=0, description="bumped to request the same effect again")
    status: OutboxStatus = Field(default=OutboxStatus.pending, index=True)
    attempts: int = 0
    last_error: Optional[str] = None
    payload: dict[str, Any] = json_field()
    available_at: dt.datetime = timestamp_field(index=True)
    created_at: dt.datetime = timestamp_field()
    finished_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)


class ExternalLink(SQLModel, table=True):
    """A hub document's counterpart at an external system."""

    __table_args__ = (
        UniqueConstraint("document_kind", "document_id", "connection", name="uq_link_document"),
        UniqueConstraint("connection", "document_kind", "external_id", name="uq_link_external"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    document_kind: str
    document_id: int = Field(index=True)
    connection: str
    external_id: str
    external_number: Optional[str] = None
    synced_at: dt.datetime = timestamp_field()
