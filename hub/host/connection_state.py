"""Durable per-connection state for plugins (tokens, cursors), kept in the database.

:class:`DbConnectionState` implements :class:`hub.contract.connections.ConnectionState`. Values are
JSON; ``secret=True`` values are stored as Fernet tokens of that JSON and never appear in
plaintext in the database or the logs. ``compare_and_set`` is an optimistic update guarded by a
version column (``UPDATE ... WHERE version = :seen``) or, for a missing key, by the unique
constraint on insert — atomic on SQLite and PostgreSQL alike, so when two workers refresh one
OAuth token only one of them wins.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from hub.contract.connections import LAST_PULL_KEY
from hub.db.engine import session_scope
from hub.db.models._base import utcnow
from hub.db.models.jobs import ConnectionStateEntry
from hub.host.secrets import SecretBox

__all__ = ["DbConnectionState", "LAST_PULL_KEY"]


_MISSING = object()


class DbConnectionState:
    """The state of connection ``connection_name`` in the ``connection_state`` table."""

    def __init__(self, engine: Engine, connection_name: str, secret_box: SecretBox) -> None:
        self._engine = engine
        self._connection = connection_name
        self._box = secret_box

    def __repr__(self) -> str:  # never show values: some are secrets
        return f"DbConnectionState({self._connection!r})"

    # ------------------------------------------------------------------ encoding
    def _encode(self, value: Any, secret: bool) -> str:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
        return self._box.encrypt(text) if secret else text

    def _decode(self, row: ConnectionStateEntry) -> Any:
        text = self._box.decrypt(row.value) if row.secret else row.value
        return json.loads(text)

    def _read(self, session, key: str) -> ConnectionStateEntry | None:
        return session.execute(select(ConnectionStateEntry).where(
            ConnectionStateEntry.connection == self._connection,
            ConnectionStateEntry.key == key)).scalar_one_or_none()

    # ------------------------------------------------------------------ protocol
    def get(self, key: str, default: Any = None) -> Any:
        """The value stored under ``key``, or ``default``."""
        with session_scope(self._engine) as session:
            row = self._read(session, key)
            return default if row is None else self._decode(row)

    def set(self, key: str, value: Any, *, secret: bool = False) -> None:
        """Store ``value`` under ``key`` (last writer wins)."""
        encoded = self._encode(value, secret)
        for _ in range(3):  # a concurrent first insert of the same key: update instead
            with session_scope(self._engine) as session:
                result = session.execute(
                    update(ConnectionStateEntry)
                    .where(ConnectionStateEntry.connection == self._connection,
                           ConnectionStateEntry.key == key)
                    .values(value=encoded, secret=secret, updated_at=utcnow(),
                            version=ConnectionStateEntry.version + 1))
                if result.rowcount:
                    return
            if self._insert(key, encoded, secret):
                return
        raise RuntimeError(f"could not store state key {key!r} for {self._connection!r}")

    def compare_and_set(self, key: str, expected: Any, value: Any, *, secret: bool = False) -> bool:
        """Store ``value`` only if the current value equals ``expected`` (a missing key
        equals ``None``). Returns whether this call won."""
        encoded = self._encode(value, secret)
        with session_scope(self._engine) as session:
            row = self._read(session, key)
            if row is None:
                seen_version = None
            else:
                if self._decode(row) != expected:
                    return False
                seen_version = row.version
        if seen_version is None:
            return expected is None and self._insert(key, encoded, secret)
        with session_scope(self._engine) as session:
            result = session.execute(
                update(ConnectionStateEntry)
                .where(ConnectionStateEntry.connection == self._connection,
                       ConnectionStateEntry.key == key,
                       ConnectionStateEntry.version == seen_version)
                .values(value=encoded, secret=secret, updated_at=utcnow(),
                        version=seen_version + 1))
            return result.rowcount == 1

    def _insert(self, key: str, encoded: str, secret: bool) -> bool:
        try:
            with session_scope(self._engine) as session:
                session.add(ConnectionStateEntry(connection=self._connection, key=key,
                                                 value=encoded, secret=secret))
            return True
        except IntegrityError:
            return False
