"""Setting up: ``hub init``, ``hub config show``, ``hub db upgrade``, ``hub secret ...``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from hub.cli.state import console, settings
from hub.errors import ConfigError

#: ``hub.config.DEFAULT_CONFIG_FILE``, repeated so that building the CLI does not import
#: hub.config and its settings models (tests/foundation/test_cli_start.py keeps the two equal).
DEFAULT_CONFIG_FILE = "hub.toml"

__all__ = ["register", "SAMPLE_CONFIG"]

SAMPLE_CONFIG = """\
# hub.toml — configuration of the MSP billing hub.
# Every key is optional; the environment (HUB_<KEY>, nested with __) overrides this file.
# Secrets never go in here: reference them as { env = "NAME" } or { encrypted = "..." }
# (make the latter with `hub secret encrypt`).

# Where the SQLite database and the encryption key live on the embedded defaults.
data_dir = "hub-data"

# Production: PostgreSQL and Redis. Leave unset for SQLite and the in-process broker.
# database_url = "postgresql://hub@db.internal/hub"
# broker_url = "redis://redis.internal:6379/0"

[company]
name = "Example MSP"
currency = "USD"
partner_id = 1
invoice_number_format = "{year}{partner_id|2}{next|6}"
payment_due_days = 14
locale = "en_US"
# address = ["1 Example Street", "Springfield"]   # printed on documents
# logo = "logo.png"
# templates_dir = "templates"   # your own copies of the invoice/statement templates
# payment_instructions = "Pay by bank transfer to ..."


[billing]
run_at = "06:00:00"        # daily billing run
auto_confirm = false       # false: hold the preview batch for `hub bill confirm`
reminder_days = [7, 14, 30]

[web]
host = "127.0.0.1"
port = 8765

# Outgoing email for invoices, credit notes and statements.
# [mail]
# host = "smtp.example.com"
# port = 587
# security = "starttls"
# username = "billing@example.com"
# password = { env = "SMTP_PASSWORD" }
# from_address = "billing@example.com"

# One [[connections]] table per connected system. `plugin` names a connection type
# (`hub plugins` lists them); `settings` is validated by that plugin.
#
# [[connections]]
# name = "xero"
# plugin = "xero"
# pull_interval_minutes = 60
# [connections.settings]
# client_id = "..."
# client_secret = { env = "XERO_CLIENT_SECRET" }
#
# [[connections]]
# name = "stripe"
# plugin = "stripe"
# [connections.settings]
# api_key = { env = "STRIPE_API_KEY" }
# webhook_secret = { env = "STRIPE_WEBHOOK_SECRET" }
"""


def init(path: Path = typer.Option(Path(DEFAULT_CONFIG_FILE), "--path", help="file to write"),
         force: bool = typer.Option(False, "--force", help="overwrite an existing file"),
         print_only: bool = typer.Option(False, "--print", help="print instead of writing")) -> None:
    """Write a commented hub.toml with every section."""
    if print_only:
        typer.echo(SAMPLE_CONFIG)
        return
    from hub.cli.helpers import file_target, write_file

    file_target(path, "--path")  # a folder, or one that does not exist: say so, write nothing
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists", hint="use --force to overwrite it")
    write_file(path, SAMPLE_CONFIG, "--path")
    console.print(f"wrote {path}; next: `hub db upgrade`")


def config_show(as_json: bool = typer.Option(False, "--json", help="machine-readable")) -> None:
    """Show the effective configuration with every secret redacted."""
    data = settings().redacted()
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    from rich.pretty import Pretty

    console.print(Pretty(data))


def db_upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Create or migrate the database schema (Alembic)."""
    from hub.db.migrate import current_revision, upgrade

    url = settings().resolved_database_url
    upgrade(url, revision)
    # the revision it is at, not the one asked for ("head", a prefix) — so a script can trust it
    console.print(f"database at revision {current_revision(url)}")


def db_current() -> None:
    """Show the database's current schema revision."""
    from hub.db.migrate import current_revision

    console.print(current_revision(settings().resolved_database_url) or "empty (run `hub db upgrade`)")


def db_revision(message: str = typer.Option(..., "-m", "--message", help="what changed"),
                rev_id: str = typer.Option(None, "--rev-id", help="e.g. 0002")) -> None:
    """(Developers) write a migration for the models' changes since the last one."""
    from hub.db.migrate import make_revision

    console.print(f"wrote {make_revision(message, rev_id)}")


def secret_new_key() -> None:
    """Print a new installation key for HUB_SECRET_KEY."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())


def secret_encrypt(value: str = typer.Option(..., prompt=True, hide_input=True)) -> None:
    """Encrypt a secret for hub.toml: paste the printed table as the key's value."""
    from hub.host.secrets import load_secret_box

    cfg = settings()
    token = load_secret_box(cfg.secret_key, cfg.data_dir).encrypt(value)
    typer.echo(f'{{ encrypted = "{token}" }}')


def register(app: typer.Typer) -> None:
    """Add the set-up commands."""
    app.command("init")(init)
    config_app = typer.Typer(help="configuration", no_args_is_help=True)
    config_app.command("show")(config_show)
    app.add_typer(config_app, name="config")
    db_app = typer.Typer(help="database schema", no_args_is_help=True)
    db_app.command("upgrade")(db_upgrade)
    db_app.command("current")(db_current)
    db_app.command("revision")(db_revision)
    app.add_typer(db_app, name="db")
    secret_app = typer.Typer(help="secrets at rest", no_args_is_help=True)
    secret_app.command("new-key")(secret_new_key)
    secret_app.command("encrypt")(secret_encrypt)
    app.add_typer(secret_app, name="secret")
