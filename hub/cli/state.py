"""What every command can reach: the loaded settings and a lazily built hub context.

Commands call :func:`context` to get a :class:`hub.host.context.HubContext`; it is built once per
invocation, after the global ``--config`` option has been read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from hub.host.context import HubContext
from hub.config import HubSettings, load_settings

__all__ = ["CliState", "state", "context", "settings", "console", "err_console"]

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    """Options given before the sub-command."""

    config_path: Path | None = None
    debug: bool = False
    _settings: HubSettings | None = field(default=None, repr=False)
    _context: HubContext | None = field(default=None, repr=False)


state = CliState()


def settings() -> HubSettings:
    """Settings from ``--config`` / ``HUB_CONFIG`` / ``./hub.toml`` and the environment."""
    if state._settings is None:
        state._settings = load_settings(state.config_path)
    return state._settings


def context() -> HubContext:
    """The hub context for this invocation (engine, plugins, connections)."""
    if state._context is None:
        from hub.host.context import build_context

        state._context = build_context(settings())
    return state._context


def reset() -> None:
    """Forget cached settings and context (tests run many invocations in one process)."""
    state.config_path = None
    state.debug = False
    state._settings = None
    state._context = None
