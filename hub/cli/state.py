"""What every command can reach: the loaded settings and a lazily built hub context.

Commands call :func:`context` to get a :class:`hub.host.context.HubContext`; it is built once per
invocation, after the global ``--config`` option has been read.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `hub --help` must not pay for settings, the database or the plugins
    import rich.table

    from hub.config import HubSettings
    from hub.host.context import HubContext
    from hub.host.plugins import PluginHost

__all__ = ["CliState", "state", "context", "settings", "plugin_host", "console", "err_console",
           "Table", "PIPE_WIDTH", "CONSOLE_OPTIONS"]

#: The width of the tables a command writes to a pipe or a file (see LazyConsole.real).
PIPE_WIDTH = 240


class LazyConsole:
    """A Rich ``Console`` made on first use: importing Rich takes longer than the whole of
    ``hub --help`` may, and many commands print nothing through it. Attributes (``print``,
    ``width``, ...) are the real console's."""

    def __init__(self, **options: Any) -> None:
        object.__setattr__(self, "_options", options)
        object.__setattr__(self, "_console", None)

    def real(self) -> Any:
        """The ``rich.console.Console`` itself, made now if needed: pass this, not the proxy,
        to Rich objects that take a ``console`` (they use it in ``with`` blocks)."""
        if self._console is None:
            from rich.console import Console

            options = dict(self._options)
            if not options.get("stderr") and "width" not in options and "file" not in options \
                    and "COLUMNS" not in os.environ and not _is_terminal(sys.stdout):
                # Written to a pipe or a file, Rich lays tables out as wide as the terminal the
                # command runs in, or 80 columns without one (a scheduled job), and folds
                # their cells (an invoice list, a report): write them as wide as they are
                # (within PIPE_WIDTH), one record per line, for grep and files.
                options["width"] = PIPE_WIDTH
            object.__setattr__(self, "_console", Console(**options))
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.real(), name, value)

    def __enter__(self) -> Any:
        return self.real().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.real().__exit__(*exc)


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)  # None, or a replacement without one: not a tty
    return bool(isatty and isatty())


def Table(*columns: Any, **options: Any) -> "rich.table.Table":  # noqa: N802 - the Rich class
    """A ``rich.table.Table``, Rich imported on first use (see :class:`LazyConsole`)."""
    from rich.table import Table as RichTable

    return RichTable(*columns, **options)


#: markup=False, emoji=False: what the commands print holds names and notes users typed, which
#: Rich would read as markup ("[bold]" vanished, "[/]" raised an error) and as emoji codes
#: ("Acme :fire: IT" printed with a flame); styles are asked for explicitly
#: (``Text(..., style=...)``, or ``markup=True`` with the values escaped).
CONSOLE_OPTIONS = {"markup": False, "emoji": False}
console = LazyConsole(**CONSOLE_OPTIONS)
err_console = LazyConsole(stderr=True, **CONSOLE_OPTIONS)


@dataclass
class CliState:
    """Options given before the sub-command."""

    config_path: Path | None = None
    debug: bool = False
    _settings: HubSettings | None = field(default=None, repr=False)
    _context: HubContext | None = field(default=None, repr=False)
    #: The plugin host built to add the plugins' commands (None before that, or if it failed).
    plugins: PluginHost | None = field(default=None, repr=False)
    #: Why the plugin host could not be built, kept so `hub plugins` can show it.
    plugin_error: Exception | None = field(default=None, repr=False)


state = CliState()


def settings() -> HubSettings:
    """Settings from ``--config`` / ``HUB_CONFIG`` / ``./hub.toml`` and the environment."""
    if state._settings is None:
        from hub.config import load_settings

        state._settings = load_settings(state.config_path)
    return state._settings


def context() -> HubContext:
    """The hub context for this invocation (engine, plugins, connections)."""
    if state._context is None:
        from hub.host.context import build_context

        state._context = build_context(settings())
    return state._context


def plugin_host() -> PluginHost:
    """The plugin host of this invocation: the one that added the plugins' commands, else
    built now (a plugin that failed to load is refused here, as a configuration error)."""
    if state.plugins is None:
        from hub.host.plugins import build_plugin_host

        state.plugins = build_plugin_host()
    return state.plugins


def reset() -> None:
    """Forget cached settings and context (tests run many invocations in one process)."""
    state.config_path = None
    state.debug = False
    state._settings = None
    state._context = None
    state.plugins = None
    state.plugin_error = None
