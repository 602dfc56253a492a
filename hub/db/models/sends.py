"""Every time the hub sends a customer document (invoice, credit note, statement) by email.

One row per *send request*: ``(document_kind, document_id, request_key)`` is unique, so the job
that retries a failed send updates the same row (``attempts`` goes up) and a job that runs again
after the mail went out finds it ``sent`` and sends nothing twice. A statement is recorded
against its organisation (``document_id`` is the organisation id; ``reference`` names the
period and mode).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Optional

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.db.models._base import timestamp_field


class SendStatus(StrEnum):
    """Where a send stands: waiting for its first try, out, or failed (last error kept)."""

    pending = "pending"
    sent = "sent"
    failed = "failed"


class DocumentSend(SQLModel, table=True):
    """One email carrying a document to a customer, with its outcome (see module docstring)."""

    __tablename__ = "document_send"
    __table_args__ = (UniqueConstraint("document_kind", "document_id", "request_key",
                                       name="uq_document_send_request"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    document_kind: str = Field(index=True, description="invoice, credit_note or statement")
    document_id: int = Field(index=True, description="the document; a statement's organisation")
    request_key: str = Field(description="'auto' for the post-invoicing send, else per request")
    reference: str = Field(default="", description="document number, or a statement's period")
    to: str = Field(description="recipients, comma-separated")
    subject: str = ""
    status: SendStatus = Field(default=SendStatus.pending, index=True)
    attempts: int = 0
    error: Optional[str] = Field(default=None, sa_type=Text)
    message_id: Optional[str] = Field(default=None, description="the Message-ID header sent")
    created_at: dt.datetime = timestamp_field()
    last_attempt_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    sent_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
