"""Bearer tokens for the REST API: created once, shown once, stored only as a hash.

A token has a scope (``full``: read and write; ``read``: GET requests only), may expire, can be
revoked, and records when it was last used (written at most every few minutes, so API calls do
not contend with the workers for SQLite's write lock).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from hub.db.engine import session_scope
from hub.db.models.api_tokens import ApiToken
from hub.errors import ValidationFailed

__all__ = ["create_token", "verify_token", "hash_token", "list_tokens", "revoke_token",
           "TOKEN_BYTES", "SCOPES"]

#: What a token may do.
SCOPES = ("full", "read")

#: ``last_used_at`` is written when it is older than this.
LAST_USED_EVERY = dt.timedelta(minutes=5)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value

#: Entropy of a new token (``secrets.token_urlsafe`` bytes).
TOKEN_BYTES = 32


def hash_token(token: str) -> str:
    """The stored form of ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, name: str, *, scope: str = "full",
                 expires_at: dt.datetime | None = None) -> str:
    """Create a token called ``name`` and return it; it cannot be shown again."""
    if scope not in SCOPES:
        raise ValidationFailed(f"unknown token scope {scope!r}",
                               hint="use full (read and write) or read (GET only)")
    if not name.strip() or len(name) > 200:
        raise ValidationFailed("a token needs a name of 1–200 characters")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    try:
        with session_scope(engine) as session:
            session.add(ApiToken(name=name, token_hash=hash_token(token), scope=scope,
                                 expires_at=expires_at))
    except IntegrityError:
        raise ValidationFailed(f"a token named {name!r} already exists",
                               hint="choose another name") from None
    return token


def verify_token(engine: Engine, token: str, now: dt.datetime | None = None
                 ) -> ApiToken | None:
    """The active, unexpired token row matching ``token``, or None. ``last_used_at`` is
    written at most every :data:`LAST_USED_EVERY`."""
    digest = hash_token(token)
    now = now or dt.datetime.now(dt.timezone.utc)
    with session_scope(engine) as session:
        row = session.execute(select(ApiToken).where(ApiToken.token_hash == digest,
                                                     ApiToken.revoked_at.is_(None))).scalar_one_or_none()
        if row is None or not secrets.compare_digest(row.token_hash, digest):
            return None
        if row.expires_at is not None and _utc(row.expires_at) <= now:
            return None
        last = _utc(row.last_used_at)
        if last is None or now - last >= LAST_USED_EVERY:
            row.last_used_at = now
        session.flush()
        session.expunge(row)
        return row


def list_tokens(engine: Engine, *, limit: int = 50, offset: int = 0) -> list[dict]:
    """Every token (never the token itself): name, scope, created, expires, last used,
    revoked."""
    with session_scope(engine) as session:
        rows = session.execute(select(ApiToken).order_by(ApiToken.id).limit(limit)
                               .offset(offset)).scalars().all()
        return [{"id": r.id, "name": r.name, "scope": r.scope, "created_at": r.created_at,
                 "expires_at": r.expires_at, "last_used_at": r.last_used_at,
                 "revoked_at": r.revoked_at} for r in rows]


def revoke_token(engine: Engine, name: str, now: dt.datetime | None = None
                 ) -> dt.datetime | None:
    """Revoke the token called ``name``: it stops working at once. Returns ``None`` when this
    revoked it, else when it was revoked before (nothing is changed: revoking is idempotent,
    and the first moment stays the one the token stopped working)."""
    from hub.errors import NotFound

    with session_scope(engine) as session:
        row = session.execute(select(ApiToken).where(ApiToken.name == name)).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no token named {name!r}", hint="list them with `hub token list`")
        if row.revoked_at is not None:
            return row.revoked_at
        row.revoked_at = now or dt.datetime.now(dt.timezone.utc)
        return None
