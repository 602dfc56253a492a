"""The one definition of an id argument or option of the CLI: 1 to :data:`~hub.validation.
limits.MAX_ID`, the largest id a row can have. Typer refuses anything else while it parses
(exit 2, one line naming the argument and the range), the same way for every command, before a
query could meet the database driver's overflow (``Python int too large to convert to SQLite
INTEGER``) or read 0 as "no such row".

``tests/foundation/test_cli_refusals.py`` checks that every id of every command uses it.
"""

from __future__ import annotations

from typing import Any

import typer

from hub.validation.limits import MAX_ID

__all__ = ["MAX_ID", "id_argument", "id_option"]


def id_argument(help: str = "the record's id", *, default: Any = ...) -> Any:
    """A positional id (``default=None`` for an optional one); for ``List[int]`` too, where
    each id is checked."""
    return typer.Argument(default, min=1, max=MAX_ID, help=help)


def id_option(*names: str, help: str | None = None, default: Any = None) -> Any:
    """An ``--option`` holding an id (``names`` as Typer takes them; default: not given)."""
    return typer.Option(default, *names, min=1, max=MAX_ID, help=help)
