"""The plugin host: a factory that builds a checked plugin manager.

Bundled plugins are found exactly like third-party ones: entry points in the ``hub`` group.
The host's own fallbacks (:data:`DEFAULT_PLUGINS`) are registered first, so any installed plugin
can override them. Start-up fails loudly: a plugin that raises on import is named, a misspelt
hook is caught by ``check_pending()``, two plugins claiming one connection type are refused.

Environment switches:

- ``HUB_DISABLE_PLUGINS=a,b`` — skip these entry points (by entry-point name);
- ``HUB_PLUGIN_DISTRIBUTIONS=a,b`` — load entry points only from these distributions (by
  distribution name; the hub's own test suite sets it, see :mod:`hub.testing.isolation`, so a
  plugin installed beside the hub cannot change its results);
- ``HUB_TRACE_PLUGINS=1`` — log every hook call and result at DEBUG level.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
from dataclasses import dataclass, field
from importlib.metadata import (
    Distribution, EntryPoint, PackageNotFoundError, distribution, entry_points,
)
from types import ModuleType
from typing import Any, Iterable

import pluggy

from hub.contract import hookspecs
from hub.contract.connections import ConnectionType
from hub.errors import PluginError

__all__ = ["PluginInfo", "PluginHost", "build_plugin_host", "ENTRY_POINT_GROUP", "DEFAULT_PLUGINS",
           "DISTRIBUTIONS_ENV", "canonical_name"]

ENTRY_POINT_GROUP = "hub"
#: Names the only distributions whose entry points are loaded (unset: every installed one).
DISTRIBUTIONS_ENV = "HUB_PLUGIN_DISTRIBUTIONS"
log = logging.getLogger("hub.host.plugins")

#: The host's built-in plugins, registered before entry points so installed plugins can win.
DEFAULT_PLUGINS: tuple[str, ...] = ("hub.sources.stored_counters",)


@dataclass
class PluginInfo:
    """One registered plugin, as ``hub plugins`` shows it.

    Its distribution's name and version are read from the installed metadata when first asked
    for: parsing every plugin's metadata at each start cost about as much as loading them.
    """

    name: str
    hooks: list[str]
    builtin: bool = False
    connection_types: list[str] = field(default_factory=list)
    dist: Distribution | None = field(default=None, repr=False, compare=False)
    dist_label: str | None = None  # shown instead of the metadata's name (built-ins: "hub")

    @property
    def distribution(self) -> str | None:
        """The installed distribution's name, if the plugin came from one."""
        if self.dist_label is not None:
            return self.dist_label
        return self.dist.name if self.dist is not None else None

    @property
    def version(self) -> str | None:
        """The installed distribution's version, if the plugin came from one."""
        return self.dist.version if self.dist is not None else None

    def as_dict(self) -> dict[str, Any]:
        """What ``hub plugins --json`` prints for this plugin."""
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "hooks": self.hooks, "builtin": self.builtin,
                "connection_types": self.connection_types}


@dataclass
class PluginHost:
    """The plugin manager plus what the host learnt while loading it."""

    pm: pluggy.PluginManager
    plugins: list[PluginInfo]
    connection_types: dict[str, ConnectionType]

    @property
    def hook(self) -> Any:
        """Shortcut to ``pm.hook``."""
        return self.pm.hook

    def connection_type(self, name: str) -> ConnectionType:
        """The registered connection type ``name``, or a clear error listing the known ones."""
        try:
            return self.connection_types[name]
        except KeyError:
            known = ", ".join(sorted(self.connection_types)) or "none"
            raise PluginError(f"no installed plugin provides connection type {name!r} "
                              f"(installed: {known})",
                              hint="install the plugin or fix `plugin =` in hub.toml") from None


def _hooks_of(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    return sorted(caller.name for caller in (pm.get_hookcallers(plugin) or []))


def canonical_name(distribution: str) -> str:
    """A distribution's name as pip compares them (PEP 503): ``Hub_Plugin.X`` -> ``hub-plugin-x``."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _only_distributions() -> set[str] | None:
    """The distributions named by ``HUB_PLUGIN_DISTRIBUTIONS``, or None (all) when it is unset."""
    value = os.environ.get(DISTRIBUTIONS_ENV)
    if value is None:
        return None
    return {canonical_name(n.strip()) for n in value.split(",") if n.strip()}


def _load_entry_point(ep: EntryPoint) -> object:
    try:
        return ep.load()
    except Exception as exc:  # any import-time failure must name the plugin, then stop
        raise PluginError(
            f'Error importing plugin "{ep.name}" ({ep.value}): {type(exc).__name__}: {exc}',
            hint=f"fix or uninstall it, or set HUB_DISABLE_PLUGINS={ep.name} to skip it") from exc


def build_plugin_host(extra_plugins: Iterable[tuple[str, object]] = (), *,
                      load_entry_points: bool = True,
                      defaults: Iterable[str] = DEFAULT_PLUGINS) -> PluginHost:
    """Build and check the plugin manager. Never called at import time.

    ``extra_plugins`` are ``(name, module_or_object)`` pairs registered after the entry points
    (the test kit uses this for throwaway plugins).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []
    disabled = {n.strip() for n in os.environ.get("HUB_DISABLE_PLUGINS", "").split(",") if n.strip()}

    for modname in defaults:
        module = importlib.import_module(modname)
        pm.register(module, name=modname)
        infos.append(PluginInfo(modname, _hooks_of(pm, module), builtin=True, dist=_hub_dist(),
                                dist_label="hub"))

    if load_entry_points:
        only = _only_distributions()
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in disabled:
                log.info("plugin %s disabled by HUB_DISABLE_PLUGINS", ep.name)
                continue
            if only is not None and (ep.dist is None or canonical_name(ep.dist.name) not in only):
                log.info("plugin %s skipped: not in HUB_PLUGIN_DISTRIBUTIONS", ep.name)
                continue
            if pm.has_plugin(ep.name):
                continue  # the same distribution visible twice on sys.path
            plugin = _load_entry_point(ep)
            pm.register(plugin, name=ep.name)
            infos.append(PluginInfo(ep.name, _hooks_of(pm, plugin), dist=ep.dist))

    for name, plugin in extra_plugins:
        pm.register(plugin, name=name)
        infos.append(PluginInfo(name, _hooks_of(pm, plugin)))

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        culprit = getattr(exc, "plugin", None)
        name = pm.get_name(culprit) if culprit is not None else "unknown"
        raise PluginError(f'plugin "{name}" is broken: {exc}',
                          hint="check the hook name against `hub plugins --hooks`") from None

    types = _collect_connection_types(pm, infos)
    if os.environ.get("HUB_TRACE_PLUGINS"):
        pm.trace.root.setwriter(lambda message: log.debug("trace: %s", message.rstrip()))
        pm.enable_tracing()
    return PluginHost(pm=pm, plugins=infos, connection_types=types)


def _collect_connection_types(pm: pluggy.PluginManager, infos: list[PluginInfo]
                              ) -> dict[str, ConnectionType]:
    """Call the register hook plugin by plugin so each type is attributed to its plugin."""
    types: dict[str, ConnectionType] = {}
    owner: dict[str, str] = {}
    by_name = {info.name: info for info in infos}
    for impl in pm.hook.hub_register_connection_types.get_hookimpls():
        plugin_name = impl.plugin_name

        def register(ctype: ConnectionType, _plugin: str = plugin_name) -> None:
            if not isinstance(ctype, ConnectionType):
                raise PluginError(f'plugin "{_plugin}" registered {ctype!r}, not a ConnectionType')
            if ctype.name in types:
                raise PluginError(f'plugins "{owner[ctype.name]}" and "{_plugin}" both register '
                                  f'connection type "{ctype.name}"',
                                  hint="uninstall one of them or set HUB_DISABLE_PLUGINS")
            types[ctype.name] = ctype
            owner[ctype.name] = _plugin
            if _plugin in by_name:
                by_name[_plugin].connection_types.append(ctype.name)

        impl.function(register=register)
    return types


def _hub_dist() -> Distribution | None:
    try:
        return distribution("msp-billing-hub")
    except PackageNotFoundError:
        return None


def plugin_module(name: str) -> ModuleType:
    """Import a module by name (used by the test kit to register a module as a plugin)."""
    return importlib.import_module(name)
