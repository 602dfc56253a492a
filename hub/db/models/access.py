"""People who use the web admin: a username, a role and an argon2 password hash.

The password itself is never stored; ``failed_logins`` and ``locked_until`` slow down guessing
one account, and :class:`LoginFailure` one client address trying many (see
:mod:`hub.access.throttle`); both are kept in the database so every web process agrees.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Optional

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.db.models._base import timestamp_field


class Role(StrEnum):
    """What a user may do: ``viewer`` reads, ``approver`` also confirms batches, credits and
    records payments, ``admin`` also manages users and connections."""

    viewer = "viewer"
    approver = "approver"
    admin = "admin"


class User(SQLModel, table=True):
    """A web admin user (``hub user add``)."""

    __tablename__ = "hub_user"
    __table_args__ = (UniqueConstraint("username", name="uq_hub_user_username"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(max_length=100)
    role: Role = Role.viewer
    password_hash: str = Field(max_length=255)
    created_at: dt.datetime = timestamp_field()
    disabled_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    last_login_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    failed_logins: int = 0
    locked_until: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    #: Bumped on every password change or disable, so older session cookies stop working.
    session_version: int = 1


class LoginFailure(SQLModel, table=True):
    """A failed login from one client address (kept for :data:`hub.access.throttle.WINDOW`)."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_client_at", "client", "at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    client: str = Field(max_length=100)
    at: dt.datetime = timestamp_field(index=True)
