"""``hub connect xero NAME``: print the Xero consent URL for connection NAME.

After consent, Xero redirects to the hub's callback (``/plugins/xero/callback``, see
:mod:`.web`), which stores the tokens encrypted and chooses the organisation.
"""

from __future__ import annotations

import typer

from hub import ConfigError, cli_connection, owns

__all__ = ["register", "connect_xero"]


def connect_xero(name: str = typer.Argument(..., help="the [[connections]] name in hub.toml")) -> None:
    """Print the URL that asks Xero for access for connection NAME."""
    from hub_accounting_xero.auth import authorize_url  # httpx: only for this command

    connection = cli_connection(name)
    if not owns(connection, "xero"):
        raise ConfigError(f"connection {name!r} is a {connection.plugin!r} connection, not xero",
                          hint="pass the name of a connection with plugin = \"xero\"")
    url = authorize_url(connection, state=None)
    typer.echo("Open this URL, sign in to Xero and choose the organisation to connect:")
    typer.echo(url)
    typer.echo(f"Xero then returns to {connection.settings.redirect_uri}, which stores the tokens.")


def register(app: typer.Typer) -> None:
    """Add ``connect xero`` to the ``hub`` command (sharing a ``connect`` group if one exists)."""
    for group in app.registered_groups:
        if group.name == "connect" and group.typer_instance is not None:
            group.typer_instance.command("xero")(connect_xero)
            return
    connect = typer.Typer(help="Connect the hub to an external system (OAuth consent).",
                          no_args_is_help=True)
    connect.command("xero")(connect_xero)
    app.add_typer(connect, name="connect")
