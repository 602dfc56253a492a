"""At start, prove this process's key can read what the hub stored with its key.

A second machine started without the first one's ``HUB_SECRET_KEY`` would otherwise make a key
of its own and fail later, job by job, on every stored token. So every long-running process
decrypts one stored secret per connection (and every ``{ encrypted = ... }`` in hub.toml) before
it takes work, and stops with an error that says what to share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from hub.db.models.jobs import ConnectionStateEntry
from hub.errors import ConfigError

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["verify_secret_key", "SHARE_KEY_HINT"]

SHARE_KEY_HINT = ("every process of one hub must use the same key: set HUB_SECRET_KEY on this "
                  "machine to the value the other machines use (or copy their data_dir/"
                  "secret.key); a new key cannot read what the old one stored")


def _encrypted_values(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        if set(value) == {"encrypted"}:
            yield where, value["encrypted"]
            return
        for key, inner in value.items():
            yield from _encrypted_values(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for inner in value:
            yield from _encrypted_values(inner, where)


def verify_secret_key(ctx: "HubContext") -> int:
    """Decrypt one stored secret per connection and every encrypted config value; raise
    :class:`ConfigError` saying to share ``HUB_SECRET_KEY`` when one cannot be. Returns how
    many were checked."""
    box = ctx.secret_box
    samples: list[tuple[str, str]] = []
    try:
        with ctx.engine.connect() as conn:
            seen: set[str] = set()
            for connection, key, value in conn.execute(
                    select(ConnectionStateEntry.connection, ConnectionStateEntry.key,
                           ConnectionStateEntry.value)
                    .where(ConnectionStateEntry.secret.is_(True))
                    .order_by(ConnectionStateEntry.id)):
                if connection not in seen:
                    seen.add(connection)
                    samples.append((f"stored state {key!r} of connection {connection!r}", value))
    except SQLAlchemyError:
        pass  # no schema yet (`hub db upgrade` not run): nothing stored to check
    for config in ctx.settings.connections:
        samples += _encrypted_values(config.settings, f"connections[{config.name}].settings")
    if ctx.settings.mail.password:
        samples += _encrypted_values(ctx.settings.mail.password, "mail.password")
    for where, token in samples:
        try:
            box.decrypt(token)
        except ConfigError:
            raise ConfigError(f"this process's secret key cannot decrypt the {where}",
                              hint=SHARE_KEY_HINT) from None
    return len(samples)
