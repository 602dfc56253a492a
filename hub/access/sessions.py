"""Session cookies and CSRF tokens for the web admin.

The cookie is signed and timestamped with itsdangerous (its value cannot be forged or changed
without the installation key, and expires after :data:`SESSION_MAX_AGE`); it holds only ids:
a random session id, the user id and the user's ``session_version`` (a password change or a
disable bumps the version, so old cookies stop working). Every visitor, logged in or not, gets
a session id, so the login form is CSRF-protected too; logging in starts a new id.

A form's CSRF token is an HMAC of the session id: a page of another site can neither read it
nor compute it, and it changes with the session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

__all__ = ["SessionSigner", "SessionData", "csrf_token_for", "session_key",
           "SESSION_COOKIE", "SESSION_MAX_AGE"]

#: Name of the session cookie.
SESSION_COOKIE = "hub_session"
#: A session lasts at most this many seconds (a working day and a half).
SESSION_MAX_AGE = 12 * 3600


@dataclass
class SessionData:
    """What the cookie says: a session id and, once logged in, who."""

    sid: str
    user_id: int | None = None
    version: int = 0

    @classmethod
    def anonymous(cls) -> "SessionData":
        """A fresh session id for a visitor who has not logged in."""
        return cls(secrets.token_urlsafe(24))


class SessionSigner:
    """Signs and reads session cookies with a key derived from the installation key."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._serializer = URLSafeTimedSerializer(key, salt="hub-admin-session")

    def dumps(self, data: SessionData) -> str:
        """The cookie value for ``data``."""
        return self._serializer.dumps({"s": data.sid, "u": data.user_id, "v": data.version})

    def loads(self, value: str | None) -> SessionData | None:
        """The session a cookie holds, or None when it is missing, forged or expired."""
        if not value:
            return None
        try:
            raw = self._serializer.loads(value, max_age=SESSION_MAX_AGE)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("s"), str):
            return None
        return SessionData(raw["s"], raw.get("u"), int(raw.get("v") or 0))

    def csrf_token(self, sid: str) -> str:
        """The CSRF token of session ``sid``."""
        return csrf_token_for(self._key, sid)

    def csrf_ok(self, sid: str, token: str | None) -> bool:
        """True when ``token`` is session ``sid``'s CSRF token (constant-time comparison)."""
        return bool(token) and hmac.compare_digest(self.csrf_token(sid), token)


def csrf_token_for(key: bytes, sid: str) -> str:
    """HMAC-SHA256 of the session id under ``key``, hex."""
    return hmac.new(key, b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()


def session_key(secret_key: str | None, data_dir: Path) -> bytes:
    """A key for cookies, derived from the installation key (``HUB_SECRET_KEY`` or the data
    directory's ``secret.key``, created by :func:`hub.host.secrets.load_secret_box` if missing), so
    sessions survive restarts and every replica agrees, without reusing the encryption key as
    it is."""
    from hub.host.secrets import load_secret_box

    load_secret_box(secret_key, data_dir)  # makes secret.key on first use
    material = secret_key.encode() if secret_key else (data_dir / "secret.key").read_bytes().strip()
    return hmac.new(material, b"hub web admin sessions v1", hashlib.sha256).digest()
