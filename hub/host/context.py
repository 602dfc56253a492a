"""The running hub's context: settings, database, plugins, connections and the clock.

Built once by the CLI, the web app, the worker or a test (``HubContext.from_settings``) and
passed down explicitly; nothing here is a global and nothing happens at import time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

from sqlalchemy.engine import Engine

from hub.config import HubSettings
from hub.contract.connections import Connection, ConnectionState, build_connection, utcnow
from hub.db.engine import make_engine
from hub.host.plugins import PluginHost, build_plugin_host
from hub.errors import PluginError
from hub.host.secrets import SecretBox, load_secret_box

__all__ = ["HubContext", "build_context"]


@dataclass
class HubContext:
    """Everything a service, job or command needs, passed explicitly."""

    settings: HubSettings
    engine: Engine
    plugins: PluginHost
    clock: Callable[[], dt.datetime] = utcnow
    #: Factory for durable per-connection state; the runtime replaces the in-memory default.
    state_factory: Callable[["HubContext", str], ConnectionState] | None = None
    _connections: dict[str, Connection] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(cls, settings: HubSettings, *, plugins: PluginHost | None = None,
                      engine: Engine | None = None,
                      clock: Callable[[], dt.datetime] = utcnow) -> "HubContext":
        """Build the context: engine from the database URL, plugins from entry points."""
        return cls(settings=settings,
                   engine=engine or make_engine(settings.resolved_database_url),
                   plugins=plugins or build_plugin_host(), clock=clock)

    @cached_property
    def secret_box(self) -> SecretBox:
        """The installation's encryption box."""
        return load_secret_box(self.settings.secret_key, self.settings.data_dir)

    def today(self) -> dt.date:
        """Today's date by the hub's clock, in the company's time zone."""
        return self.clock().astimezone(self.settings.company.zone).date()

    def connection(self, name: str) -> Connection:
        """The configured connection ``name``, validated by its plugin's settings model."""
        if name not in self._connections:
            config = self.settings.connection(name)  # raises a clear ConfigError if unknown
            # The position in [[connections]] lets a settings error point at the file's line.
            index = self.settings.connections.index(config)
            ctype = self.plugins.connection_type(config.plugin)
            state = self.state_factory(self, name) if self.state_factory else None
            self._connections[name] = build_connection(
                config, index, ctype, self.settings, self.secret_box,
                state=state, clock=self.clock)
        return self._connections[name]

    def connection_names(self, capability: str) -> frozenset[str]:
        """The names of the enabled connections whose type has ``capability`` (without
        building the connections: no settings validated, no secrets read). A connection whose
        plugin is not installed has no capability: it is left out, not an error here."""
        names = set()
        for config in self.settings.connections:
            if not config.enabled:
                continue
            try:
                ctype = self.plugins.connection_type(config.plugin)
            except PluginError:
                continue
            if capability in ctype.capabilities:
                names.add(config.name)
        return frozenset(names)

    def connections(self, capability: str | None = None) -> list[Connection]:
        """All enabled connections, optionally only those whose type has ``capability``."""
        result = []
        for config in self.settings.connections:
            if not config.enabled:
                continue
            ctype = self.plugins.connection_type(config.plugin)
            if capability is None or capability in ctype.capabilities:
                result.append(self.connection(config.name))
        return result


def build_context(settings: HubSettings, **kwargs) -> HubContext:
    """The context the processes use (CLI, worker, web, scheduler): its connections keep
    durable, encrypted state in the database."""
    from hub.host.connection_state import DbConnectionState

    ctx = HubContext.from_settings(settings, **kwargs)
    ctx.state_factory = lambda c, name: DbConnectionState(c.engine, name, c.secret_box)
    return ctx
