"""Connections: named, configured instances of a plugin's connection type.

A plugin declares a :class:`ConnectionType` (its name, its settings model, what it can do)
through ``hub_register_connection_types``. Each ``[[connections]]`` entry of ``hub.toml`` names a
type; its ``settings`` table is validated by that type's model (``extra="forbid"``), with secret
references resolved first. Hooks receive the resulting :class:`Connection`.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

from hub.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import BaseModel

    # imported for annotations only: plugins import this module at CLI start, and
    # hub.config (its settings models) and hub.host.secrets (cryptography) cost more than it does
    from hub.config import ConnectionConfig, HubSettings
    from hub.host.secrets import SecretBox

__all__ = [
    "ConnectionType", "Connection", "ConnectionState", "MemoryState", "owns", "resolve_secrets",
    "build_connection", "utcnow", "LAST_PULL_KEY",
]

CAPABILITIES = frozenset({"pull", "count", "usage", "accounting", "payments", "payments_poll"})


#: The host's own key in every connection's state: when the connection last completed a pull
#: (ISO time), written by every pull however it was started (``hub pull``, a scheduled job, the
#: demo); ``hub status`` shows it. Keys starting ``_hub.`` are the host's, never a plugin's.
LAST_PULL_KEY = "_hub.last_pull_at"


def utcnow() -> dt.datetime:
    """The real clock (aware UTC). Tests pass a controllable clock instead."""
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class ConnectionType:
    """What a plugin registers: ``name`` is what ``plugin = "..."`` refers to in hub.toml."""

    name: str
    settings_model: type[BaseModel]
    capabilities: frozenset[str]
    description: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.capabilities) - CAPABILITIES
        if unknown:
            raise ValueError(f"unknown capabilities {sorted(unknown)}; use {sorted(CAPABILITIES)}")


class ConnectionState(Protocol):
    """Durable, per-connection key/value state for plugins (tokens, cursors, rate limits).

    Values are JSON-serialisable. ``set`` is atomic; ``compare_and_set`` replaces a value only if
    it still equals ``expected``, so two workers refreshing one token cannot both win.
    """

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any, *, secret: bool = False) -> None: ...

    def compare_and_set(self, key: str, expected: Any, value: Any, *, secret: bool = False) -> bool: ...


class MemoryState:
    """In-memory :class:`ConnectionState` for unit tests of a plugin."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def set(self, key: str, value: Any, *, secret: bool = False) -> None:
        self._data[key] = value

    def compare_and_set(self, key: str, expected: Any, value: Any, *, secret: bool = False) -> bool:
        if self._data.get(key) != expected:
            return False
        self._data[key] = value
        return True


@dataclass
class Connection:
    """A configured connection as hooks see it."""

    name: str
    plugin: str
    settings: BaseModel
    state: ConnectionState = field(default_factory=MemoryState)
    clock: Callable[[], dt.datetime] = utcnow
    config: ConnectionConfig | None = None

    def now(self) -> dt.datetime:
        """Current time from the host's clock (controllable in tests)."""
        return self.clock()


def owns(connection: Connection, plugin: str) -> bool:
    """True when ``connection`` is of connection type ``plugin``: hooks check this first."""
    return connection.plugin == plugin


def resolve_secrets(value: Any, box: SecretBox | None, where: str) -> Any:
    """Replace ``{env = NAME}`` and ``{encrypted = TOKEN}`` with their plaintext, recursively."""
    if isinstance(value, dict):
        if set(value) == {"env"}:
            name = value["env"]
            if name not in os.environ:
                raise ConfigError(f"{where}: environment variable {name} is not set",
                                  hint=f"export {name}=... before starting the hub")
            return os.environ[name]
        if set(value) == {"encrypted"}:
            if box is None:
                raise ConfigError(f"{where}: encrypted value but no secret key available",
                                  hint="set HUB_SECRET_KEY")
            return box.decrypt(value["encrypted"])
        return {k: resolve_secrets(v, box, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_secrets(v, box, where) for v in value]
    return value


def build_connection(config: ConnectionConfig, index: int, ctype: ConnectionType,
                     settings: HubSettings, box: SecretBox | None, *,
                     state: ConnectionState | None = None,
                     clock: Callable[[], dt.datetime] = utcnow) -> Connection:
    """Validate one ``[[connections]]`` entry with its type's model and build the Connection."""
    # pydantic is imported where a connection is built: the plugin host registers connection
    # types at every CLI start, and `hub --help` needs no validation
    from pydantic import ValidationError

    resolved = resolve_secrets(config.settings, box, f"connections[{config.name}].settings")
    try:
        model = ctype.settings_model.model_validate(resolved)
    except ValidationError as exc:
        from hub.config import format_validation_error

        text = (settings.config_file.read_text(encoding="utf-8")
                if settings.config_file and settings.config_file.exists() else None)
        raise ConfigError(
            f"connection {config.name!r} ({ctype.name}): "
            + format_validation_error(exc, source=settings.config_file, text=text,
                                      prefix=("connections", index, "settings")),
            hint=f"see `hub plugins --settings {ctype.name}` for the keys it takes") from None
    if settings.config_file is not None:
        _refuse_plain_secrets(config, index, ctype, settings)
    return Connection(name=config.name, plugin=config.plugin, settings=model,
                      state=state or MemoryState(), clock=clock, config=config)


def _refuse_plain_secrets(config: ConnectionConfig, index: int, ctype: ConnectionType,
                          settings: HubSettings) -> None:
    """A secret field (``SecretStr`` in the plugin's model) written in hub.toml as plain text
    is refused, as ``mail.password`` is: the file is copied, backed up and read by many."""
    from hub.config import locate_key
    for name, info in ctype.settings_model.model_fields.items():
        if "SecretStr" in repr(info.annotation) and isinstance(config.settings.get(name), str):
            file = settings.config_file
            text = file.read_text(encoding="utf-8") if file and file.exists() else None
            line = locate_key(text, ("connections", index, "settings", name)) if text else None
            where = f"{file}:{line}" if line else str(file)
            raise ConfigError(
                f"{where}: connections[{config.name}].settings.{name} is a secret written in "
                "plain text",
                hint=f'write it as {name} = {{ env = "NAME" }} or {name} = {{ encrypted = '
                     '"TOKEN" }} (make the token with `hub secret encrypt`)')
