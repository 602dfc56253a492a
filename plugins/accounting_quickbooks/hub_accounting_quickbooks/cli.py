"""``hub connect quickbooks NAME`` prints the Intuit consent URL; ``hub quickbooks catch-up
NAME`` brings in, through Change Data Capture, the payments and voids whose webhooks never came.

After consent, Intuit redirects to the hub's callback (``/plugins/quickbooks/callback``, see
:mod:`.web`), which stores the tokens encrypted with the company (realm) chosen.
"""

from __future__ import annotations

import typer

from hub import ConfigError, cli_connection, cli_record_payment_events, owns

__all__ = ["register", "connect_quickbooks", "catch_up_command"]

PLUGIN = "quickbooks"


def _connection(name: str):
    connection = cli_connection(name)
    if not owns(connection, PLUGIN):
        raise ConfigError(f"connection {name!r} is a {connection.plugin!r} connection, not "
                          "quickbooks", hint='pass the name of a connection with plugin = '
                                            '"quickbooks"')
    return connection


def connect_quickbooks(name: str = typer.Argument(..., help="the [[connections]] name in hub.toml")
                       ) -> None:
    """Print the URL that asks Intuit for access to a QuickBooks company for connection NAME."""
    from hub_accounting_quickbooks.auth import authorize_url  # httpx: only for this command

    connection = _connection(name)
    typer.echo("Open this URL, sign in to Intuit and choose the company to connect:")
    typer.echo(authorize_url(connection, state=None))
    typer.echo(f"Intuit then returns to {connection.settings.redirect_uri}, which stores the "
               "tokens.")


def catch_up_command(name: str = typer.Argument(..., help="the [[connections]] name in hub.toml")
                     ) -> None:
    """Ask QuickBooks what changed since the last catch-up (CDC) and hand the payments and
    voids made there to the hub, once each (a webhook that did arrive changes nothing)."""
    from hub_accounting_quickbooks.webhooks import catch_up

    events = catch_up(_connection(name))
    new = cli_record_payment_events(name, events)
    typer.echo(f"{len(events)} change(s) found in QuickBooks, {new} new to the hub")


def register(app: typer.Typer) -> None:
    """Add ``connect quickbooks`` (sharing a ``connect`` group if one exists) and
    ``quickbooks catch-up``."""
    for group in app.registered_groups:
        if group.name == "connect" and group.typer_instance is not None:
            group.typer_instance.command("quickbooks")(connect_quickbooks)
            break
    else:
        connect = typer.Typer(help="Connect the hub to an external system (OAuth consent).",
                              no_args_is_help=True)
        connect.command("quickbooks")(connect_quickbooks)
        app.add_typer(connect, name="connect")
    group = typer.Typer(help="QuickBooks Online connections.", no_args_is_help=True)
    group.command("catch-up")(catch_up_command)
    app.add_typer(group, name="quickbooks")
