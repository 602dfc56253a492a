"""Entry point of the ``hub`` command.

Errors are turned into one-line messages here, at a single boundary: a :class:`HubError`
prints its message and fix and exits 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import getpass
import importlib
import logging
import pkgutil
import sys
from pathlib import Path
from typing import Optional

import typer

from hub.audit import set_actor
from hub.cli import state as cli_state
from hub.errors import HubError

__all__ = ["main", "build_app"]


def _root_callback(
    config: Optional[Path] = typer.Option(None, "--config", "-c", envvar="HUB_CONFIG",
                                          help="path to hub.toml (default: ./hub.toml)"),
    debug: bool = typer.Option(False, "--debug", help="show tracebacks and debug logs"),
) -> None:
    """MSP billing hub: PSA/RMM and vendor usage in, correct invoices out."""
    cli_state.state.config_path = config
    cli_state.state.debug = debug
    # The audit trail names who ran a command that changes something.
    set_actor(f"cli:{getpass.getuser()}", "cli")
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")


def build_app(*, with_plugins: bool = True) -> typer.Typer:
    """The Typer app with every built-in command module and plugin commands."""
    app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False,
                      add_completion=False, rich_markup_mode=None)
    app.callback()(_root_callback)
    import hub.cli.commands as commands_pkg

    for module_info in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands_pkg.__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
    if with_plugins:
        _add_plugin_commands(app)
    return app


def _add_plugin_commands(app: typer.Typer) -> None:
    """Let plugins add commands; a broken plugin must not make the whole CLI unusable."""
    from hub.plugins import build_plugin_host

    try:
        host = build_plugin_host()
    except HubError as exc:
        # Still start, so `hub plugins` can show the error and the user can fix it.
        cli_state.state.plugin_error = exc  # type: ignore[attr-defined]
        return
    host.hook.hub_register_commands(app=app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    cli_state.reset()
    try:
        app = build_app()
        result = app(args=argv if argv is not None else sys.argv[1:], standalone_mode=False,
                     prog_name="hub")
        if isinstance(result, int):  # click returns typer.Exit's code in this mode
            return result
    except HubError as exc:
        if cli_state.state.debug:
            raise
        cli_state.err_console.print(f"[bold red]error:[/] {exc.user_message()}", highlight=False,
                                    soft_wrap=True, markup=True)
        return 2
    except SystemExit as exc:  # typer.Exit inside commands
        return int(exc.code or 0)
    except KeyboardInterrupt:
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 1
    except typer.TyperException as exc:  # usage errors (bad option values) carry their codes
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        return getattr(exc, "exit_code", 2)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
