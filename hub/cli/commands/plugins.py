"""``hub plugins``: what is installed, its version, and the hooks each plugin implements."""

from __future__ import annotations

import json

import typer

from hub.cli.state import Table, console

__all__ = ["register"]


def plugins(as_json: bool = typer.Option(False, "--json", help="machine-readable"),
            hooks: bool = typer.Option(False, "--hooks", help="list the hook specifications"),
            settings_of: str = typer.Option(None, "--settings",
                                            help="show a connection type's settings keys")) -> None:
    """List plugins (found through the `hub` entry-point group) and their hooks."""
    from hub.host.plugins import build_plugin_host

    host = build_plugin_host()
    if hooks:
        for name in sorted(n for n in dir(host.hook) if n.startswith("hub_")):
            console.print(name)
        return
    if settings_of:
        model = host.connection_type(settings_of).settings_model
        typer.echo(json.dumps(model.model_json_schema(), indent=2))
        return
    if as_json:
        typer.echo(json.dumps([p.as_dict() for p in host.plugins], indent=2))
        return
    table = Table(title="plugins")
    for column in ("name", "distribution", "version", "connection types", "hooks"):
        table.add_column(column)
    for info in host.plugins:
        table.add_row(info.name + (" (built-in)" if info.builtin else ""),
                      info.distribution or "-", info.version or "-",
                      ", ".join(info.connection_types) or "-",
                      ", ".join(h.removeprefix("hub_") for h in info.hooks))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``hub plugins``."""
    app.command("plugins")(plugins)
