"""API tokens for the REST API: only a SHA-256 hash is stored; the token is shown once."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.db.models._base import timestamp_field


class ApiToken(SQLModel, table=True):
    """A named bearer token. ``token_hash`` is ``sha256(token).hexdigest()``."""

    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_api_token_hash"),
                      UniqueConstraint("name", name="uq_api_token_name"))
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str
    token_hash: str = Field(max_length=64)
    created_at: dt.datetime = timestamp_field()
    last_used_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    revoked_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    expires_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    scope: str = Field(default="full", max_length=16,
                       description="full: read and write; read: GET requests only")
