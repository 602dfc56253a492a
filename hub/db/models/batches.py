"""Billing runs as batches: preview first (drafts, no numbers), then confirm or discard."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Optional

from sqlmodel import Field, SQLModel

from hub.db.models._base import json_field, timestamp_field


class BatchStatus(StrEnum):
    """Where a billing batch stands."""

    preview = "preview"
    confirmed = "confirmed"
    discarded = "discarded"


class BillingBatch(SQLModel, table=True):
    """One billing run for ``run_date`` (which may be in the future: seed 002).

    ``left_out`` names the schedules and cycles the run could not bill (organisation,
    agreement, reason); ``filled_at`` is set when the preview finished filling the batch: a
    preview batch without it was interrupted, and the next preview of its date completes it."""

    id: Optional[int] = Field(default=None, primary_key=True)
    run_date: dt.date = Field(index=True)
    status: BatchStatus = Field(default=BatchStatus.preview, index=True)
    invoice_count: int = 0
    notes: list[Any] = json_field(list)
    left_out: list[Any] = json_field(list)
    filled_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    created_at: dt.datetime = timestamp_field()
    confirmed_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    discarded_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
