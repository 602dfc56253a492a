"""Bearer tokens for the REST API: created once, shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from hub.db.engine import session_scope
from hub.db.models.api_tokens import ApiToken
from hub.errors import ValidationFailed

__all__ = ["create_token", "verify_token", "hash_token", "TOKEN_BYTES"]

#: Entropy of a new token (``secrets.token_urlsafe`` bytes).
TOKEN_BYTES = 32


def hash_token(token: str) -> str:
    """The stored form of ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, name: str) -> str:
    """Create a token called ``name`` and return it; it cannot be shown again."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    try:
        with session_scope(engine) as session:
            session.add(ApiToken(name=name, token_hash=hash_token(token)))
    except IntegrityError:
        raise ValidationFailed(f"a token named {name!r} already exists",
                               hint="choose another name") from None
    return token


def verify_token(engine: Engine, token: str) -> ApiToken | None:
    """The active token row matching ``token``, or None. Compares hashes only (no write per
    request, so API calls never contend with the workers for SQLite's write lock)."""
    digest = hash_token(token)
    with session_scope(engine) as session:
        row = session.execute(select(ApiToken).where(ApiToken.token_hash == digest,
                                                     ApiToken.revoked_at.is_(None))).scalar_one_or_none()
        if row is None or not secrets.compare_digest(row.token_hash, digest):
            return None
        return row
