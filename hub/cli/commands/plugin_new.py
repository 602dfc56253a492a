"""``hub plugin new NAME [--dir D]``: scaffold an installable plugin (see :mod:`hub.scaffold`)."""

from __future__ import annotations

from pathlib import Path

import typer

from hub.cli.state import console

__all__ = ["register"]

plugin_app = typer.Typer(help="Work on plugins: scaffold a new one.", no_args_is_help=True)


@plugin_app.command("new")
def new(name: str = typer.Argument(..., help="plugin and connection type name, e.g. acme"),
        directory: Path = typer.Option(Path("."), "--dir", "-d",
                                       help="where to create the NAME/ folder")) -> None:
    """Write a plugin with an entry point, settings model, sandbox and passing tests."""
    from hub.scaffold import names_for, scaffold

    written = scaffold(name, directory)
    names = names_for(name)
    root = (directory / names.name).resolve()
    console.print(f"created {names.distribution} in {root} ({len(written)} files)")
    # The same steps, in the same order, as docs/writing-plugins.md ("Your first hour").
    console.print("next (docs/writing-plugins.md):")
    console.print(f'  pip install --no-build-isolation -e "{root}[test]"   '
                  '# needs setuptools>=70.1 in this environment')
    console.print(f"  python -m pytest -q {root / 'tests'}")
    console.print("  hub plugins                 # lists it")


def register(app: typer.Typer) -> None:
    """Add the ``hub plugin`` group with ``new``."""
    app.add_typer(plugin_app, name="plugin")
