"""Idempotency keys of the REST API: the answer given to a money-recording request sent with an
``Idempotency-Key`` header, so that the same request sent again gets that answer back instead
of recording the money twice (see :mod:`hub.web.idempotency`).

A row is written in the same transaction as the work of its request: a committed row always
carries the answer, and a request whose work was refused or failed leaves no row behind.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.db.models._base import timestamp_field


class IdempotencyKey(SQLModel, table=True):
    """One key and the answer its request got. Keys are global to the hub (one hub is one MSP),
    whichever token sent them; ``token_name`` is kept for the record."""

    __tablename__ = "idempotency_key"
    # The unique key is what makes two requests with one key at once safe: the second insert
    # waits for the first transaction (PostgreSQL) and then finds its row.
    __table_args__ = (UniqueConstraint("key", name="uq_idempotency_key_key"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(max_length=255)
    route: str = Field(max_length=255, description="method and path template, "
                                                   "e.g. POST /payments/{payment_id}/refund")
    request_hash: str = Field(max_length=64, description="sha256 of the method, the path "
                                                         "and the body")
    token_name: str = Field(max_length=255)
    status_code: Optional[int] = Field(default=None, description="None only while the "
                                                                 "request runs, uncommitted")
    response: Optional[Any] = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: By the hub's clock; rows older than :data:`hub.web.idempotency.KEEP` are forgotten.
    created_at: dt.datetime = timestamp_field(index=True)
