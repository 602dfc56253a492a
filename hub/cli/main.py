"""Entry point of the ``hub`` command.

Errors are turned into one-line messages here, at a single boundary; ``--debug`` shows the
traceback instead. Exit codes (documented in README.md, for cron and scripts):

==  ======================================================================================
0   done
1   differences found (``hub reconcile``)
2   usage or input error: a bad option or value, an unknown id, a refused change
3   configuration error: hub.toml, the environment, the database not set up (``hub db upgrade``)
4   an external system is unreachable or failed: a vendor, the accounting system, the database
==  ======================================================================================
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

from hub.cli import state as cli_state
from hub.cli.lazy_group import root_group
from hub.errors import HubError

__all__ = ["main", "build_app", "SELF_CONTAINED", "EXIT_OK", "EXIT_DIFFERENCES", "EXIT_USAGE",
           "EXIT_CONFIG", "EXIT_EXTERNAL", "exit_code_of"]

EXIT_OK, EXIT_DIFFERENCES, EXIT_USAGE, EXIT_CONFIG, EXIT_EXTERNAL = 0, 1, 2, 3, 4


def exit_code_of(exc: HubError) -> int:
    """The exit code of a refusal (see the module docstring)."""
    from hub.errors import ConfigError, ConnectorError, PluginError

    if isinstance(exc, (ConfigError, PluginError)):
        return EXIT_CONFIG
    if isinstance(exc, ConnectorError):
        return EXIT_EXTERNAL
    return EXIT_USAGE


def _database_error(exc: Exception) -> HubError | None:
    """A database error a user can fix, as a hub error; None for anything else (a bug).

    Both SQLAlchemy's errors and those of the drivers used directly (``hub status`` reads
    through a plain DB-API connection, see :mod:`hub.db.dbapi`)."""
    from hub.db.dbapi import driver_refusal, not_set_up, unreachable

    known = driver_refusal(exc)
    if known is not None or "sqlalchemy" not in sys.modules:
        return known  # no SQLAlchemy error can have been raised if it was never imported
    from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

    text = str(getattr(exc, "orig", exc)).splitlines()[0] if str(exc) else ""
    if isinstance(exc, (OperationalError, ProgrammingError)) and (
            "no such table" in text or "does not exist" in text or "no such column" in text
            or "UndefinedTable" in type(getattr(exc, "orig", exc)).__name__):
        return not_set_up(text)
    if isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError)
                                             and exc.connection_invalidated):
        return unreachable(text)
    return None


def _not_storable(exc: Exception) -> bool:
    """Whether ``exc`` is the database refusing a value (SQLAlchemy's ``DataError``)."""
    if "sqlalchemy" not in sys.modules:
        return False  # no SQLAlchemy error can have been raised if it was never imported
    from sqlalchemy.exc import DataError

    return isinstance(exc, DataError)


def _root_callback(
    config: Optional[Path] = typer.Option(None, "--config", "-c", envvar="HUB_CONFIG",
                                          help="path to hub.toml (default: ./hub.toml)"),
    debug: bool = typer.Option(False, "--debug", help="show tracebacks and debug logs"),
) -> None:
    """MSP billing hub: PSA/RMM and vendor usage in, correct invoices out."""
    cli_state.state.config_path = config
    cli_state.state.debug = debug
    # The audit trail names who ran a command that changes something (hub.audit.actor is
    # imported alone: the trail's tables are not needed to start the CLI).
    from hub.audit.actor import set_actor

    set_actor(f"cli:{getpass.getuser()}", "cli")
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")


#: Built-in commands that run with only their own module of :mod:`hub.cli.commands` imported:
#: importing all sixteen costs about 25 ms on every start, a tenth of what `hub status` may take
#: (issue #21). Only modules whose commands no other module extends are listed (listings.py
#: adds ``list`` to ``org``, ``contract``...; edits.py to ``org``); the help and the listing of
#: every command still build the whole tree. tests/foundation/test_cli_start.py checks that
#: each of these is the same command as in the whole tree.
SELF_CONTAINED: dict[str, str] = {
    **dict.fromkeys(("worker", "scheduler", "serve", "run", "status", "jobs", "token", "outbox"),
                    "runtime"),
    **dict.fromkeys(("init", "config", "db", "secret"), "setup"),
    **dict.fromkeys(("payment", "ledger", "account"), "ledger"),
    "credit-note": "credit_notes",
    **dict.fromkeys(("statement", "prebill"), "ledger_prebill"),
    **dict.fromkeys(("pdf", "send"), "documents"),
    **dict.fromkeys(("pull", "mapping"), "pull"),
    "demo": "demo", "plugins": "plugins", "plugin": "plugin_new", "reconcile": "reconcile",
    "user": "users",
}


def _command_of(argv: list[str]) -> str | None:
    """The sub-command ``argv`` runs, when the root options alone precede it; None when it
    cannot be told without Click (the root help, an unknown option: then all is built)."""
    skip_value = False
    for arg in argv:
        if skip_value:
            skip_value = False
        elif arg in ("--config", "-c"):
            skip_value = True
        elif arg == "--debug" or arg.startswith("--config=") or (arg.startswith("-c")
                                                                 and arg[2:3] != "-"):
            continue
        elif arg.startswith("-"):
            return None
        else:
            return arg
    return None


def build_app(*, with_plugins: bool = True, only: str | None = None) -> typer.Typer:
    """The Typer app with every built-in command module (or ``only`` that module of
    :mod:`hub.cli.commands`) and plugin commands."""
    app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False,
                      add_completion=False, rich_markup_mode=None)
    app.callback()(_root_callback)
    import hub.cli.commands as commands_pkg

    names = [only] if only else sorted(m.name for m in pkgutil.iter_modules(commands_pkg.__path__))
    for name in names:
        module = importlib.import_module(f"{commands_pkg.__name__}.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
    if with_plugins:
        _add_plugin_commands(app)
    return app


def _add_plugin_commands(app: typer.Typer) -> None:
    """Let plugins add commands; a broken plugin must not make the whole CLI unusable."""
    from hub.host.plugins import build_plugin_host

    try:
        host = build_plugin_host()
    except HubError as exc:
        # Still start, so `hub plugins` can show the error and the user can fix it.
        cli_state.state.plugin_error = exc
        return
    cli_state.state.plugins = host  # the command may use it too (cli_state.plugin_host)
    host.hook.hub_register_commands(app=app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    cli_state.reset()
    try:
        # Each sub-command becomes a Click command only when it runs (see lazy_group).
        args = argv if argv is not None else sys.argv[1:]
        group = root_group(build_app(only=SELF_CONTAINED.get(_command_of(args) or "")))
        result = group.main(args=args, standalone_mode=False, prog_name="hub")
        if isinstance(result, int):  # click returns typer.Exit's code in this mode
            return result
    except HubError as exc:
        if cli_state.state.debug:
            raise
        _say(exc)
        return exit_code_of(exc)
    except SystemExit as exc:  # typer.Exit inside commands
        return int(exc.code or 0)
    except KeyboardInterrupt:
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 1
    except typer.TyperException as exc:  # usage errors (bad option values) carry their codes
        message = getattr(exc, "format_message", None)
        if message is None:
            raise
        # One line, like every other refusal: what is wrong, then where to look.
        command = getattr(getattr(exc, "ctx", None), "command_path", "hub")
        _error_line(f"{message()} — see `{command} --help`")
        return getattr(exc, "exit_code", EXIT_USAGE)
    except OverflowError as exc:
        # A date or number past what Python holds (9999-12-31 plus a term), where no field's
        # own check caught it first: bad input, and the session rolled back.
        if cli_state.state.debug:
            raise
        _error_line(f"a date or number is out of range ({exc}); nothing was stored — give a "
                    "smaller value (dates end at 9999-12-31)")
        return EXIT_USAGE
    except Exception as exc:
        if _not_storable(exc) and not cli_state.state.debug:
            # A value the database refuses (on PostgreSQL a NUL in a text, e.g. from --lines
            # JSON): bad input, as the REST API answers it; the session rolled back.
            from hub.web.refusals import not_storable_message

            _error_line(not_storable_message(exc, "a value"))
            return EXIT_USAGE
        known = _database_error(exc)
        if known is None or cli_state.state.debug:
            raise
        _say(known)
        return exit_code_of(known)
    return EXIT_OK


def _say(exc: HubError) -> None:
    _error_line(exc.user_message())


def _error_line(message: str) -> None:
    """``error: message`` on stderr, the message printed as it is: it may hold a name a user
    typed or TOML (``[[connections]]``), which Rich would otherwise read as markup, drop, or
    refuse with a traceback (``[/]``)."""
    from rich.markup import escape

    cli_state.err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False,
                                soft_wrap=True, markup=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
