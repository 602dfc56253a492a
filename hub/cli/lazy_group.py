"""The ``hub`` command's root group, turning each sub-command into a Click command on first use.

Typer turns a whole app into Click commands before it parses anything: it reads the signature
and evaluates the type hints of every command function (about a hundred here, plus plugin
commands), which took longer than all of ``hub --help`` may. :func:`root_group` builds the root
group from the same Typer app, but converts a sub-command (or sub-group, with everything under
it) only when it is run or its help is shown; the top-level help lists every command from its
docstring alone. The commands themselves are Typer's, converted by Typer's own functions, so
options, help and errors are exactly those of ``app()``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import typer
from typer import main as typer_main
from typer.core import TyperGroup
from typer.models import TyperInfo

__all__ = ["root_group", "LazyCommands"]


class LazyCommands(MutableMapping[str, Any]):
    """``name -> click command``, each made by its factory the first time it is looked up."""

    def __init__(self) -> None:
        self._made: dict[str, Any] = {}
        self._factories: dict[str, Callable[[], Any]] = {}
        self._listed: dict[str, tuple[str, bool, bool]] = {}

    def add(self, name: str, factory: Callable[[], Any], help_text: str, *, hidden: bool = False,
            deprecated: bool = False) -> None:
        """Register ``name``; ``help_text``/``hidden``/``deprecated`` serve the help listing."""
        self._factories[name] = factory
        self._listed[name] = (help_text, hidden, deprecated)
        self._made.pop(name, None)

    def listed(self, name: str) -> tuple[str, bool, bool]:
        """(help text, hidden, deprecated) of ``name`` without converting it."""
        return self._listed[name]

    def is_made(self, name: str) -> bool:
        """Whether ``name`` has been converted already."""
        return name in self._made

    def __getitem__(self, name: str) -> Any:
        if name not in self._made:
            self._made[name] = self._factories[name]()  # KeyError for an unknown name
        return self._made[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._made[name] = command
        self._factories[name] = lambda: command
        self._listed[name] = (command.help or "", bool(command.hidden),
                              bool(getattr(command, "deprecated", False)))

    def __delitem__(self, name: str) -> None:
        del self._factories[name]
        del self._listed[name]
        self._made.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return self[name] if name in self._factories else default


class LazyRootGroup(TyperGroup):
    """A :class:`TyperGroup` whose ``commands`` is a :class:`LazyCommands`."""

    commands: LazyCommands  # type: ignore[assignment]

    def list_commands(self, ctx: Any) -> list[str]:
        """The names in the order they were added (Typer's ``.items()`` would convert them)."""
        return list(self.commands)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """Typer's listing, but from each command's help text: nothing is converted for it."""
        rows = []
        names = [n for n in self.list_commands(ctx) if not self.commands.listed(n)[1]]
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        for name in names:
            if self.commands.is_made(name):
                rows.append((name, self.commands[name].get_short_help_str(limit)))
                continue
            help_text, _, deprecated = self.commands.listed(name)
            # the short help Click would show: first sentence, cut at ``limit``
            short = _short_help(help_text, limit)
            rows.append((name, f"(DEPRECATED) {short}".strip() if deprecated else short))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _short_help(help_text: str, limit: int) -> str:
    from typer._click.utils import make_default_short_help  # Click's own rule, vendored by Typer

    return make_default_short_help(help_text, limit)


def root_group(app: typer.Typer) -> LazyRootGroup:
    """The root Click group of ``app``, its sub-commands converted on first use."""
    options = {"pretty_exceptions_short": app.pretty_exceptions_short,
               "rich_markup_mode": app.rich_markup_mode}
    bare = typer.Typer(cls=LazyRootGroup, no_args_is_help=app.info.no_args_is_help,
                       help=app.info.help, add_completion=False, rich_markup_mode=None)
    bare.registered_callback = app.registered_callback
    bare.info.callback = app.info.callback
    group = typer_main.get_group_from_info(TyperInfo(bare), suggest_commands=app.suggest_commands,
                                           **options)
    commands = LazyCommands()
    for info in app.registered_commands:
        callback = info.callback
        name = info.name or typer_main.get_command_name(callback.__name__)
        help_text = inspect.cleandoc(info.help) if info.help else inspect.getdoc(callback) or ""
        commands.add(name, lambda info=info: typer_main.get_command_from_info(info, **options),
                     info.short_help or help_text, hidden=bool(info.hidden),
                     deprecated=bool(info.deprecated))
    for group_info in app.registered_groups:
        solved = typer_main.solve_typer_info_defaults(group_info)
        if not solved.name:
            # ``add_typer`` without a name merges its commands into the root: convert it now
            sub = typer_main.get_group_from_info(group_info, suggest_commands=app.suggest_commands,
                                                 **options)
            for sub_name, sub_command in sub.commands.items():
                commands[sub_name] = sub_command
            continue
        commands.add(solved.name,
                     lambda group_info=group_info: typer_main.get_group_from_info(
                         group_info, suggest_commands=app.suggest_commands, **options),
                     solved.short_help or solved.help or "", hidden=bool(solved.hidden),
                     deprecated=bool(solved.deprecated))
    group.commands = commands
    return group
