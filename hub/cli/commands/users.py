"""``hub user add/list/disable/enable/passwd``: the people who log in to the web admin."""

from __future__ import annotations

from typing import Optional

import typer

from hub.cli.state import console, context

__all__ = ["register"]

user_app = typer.Typer(help="Web admin users and their roles (admin, approver, viewer).",
                       no_args_is_help=True)


def _password(given: Optional[str]) -> str:
    """The password from --password, else asked twice without echo."""
    if given is not None:
        return given
    try:
        return typer.prompt("password", hide_input=True, confirmation_prompt=True)
    except typer.Abort:
        # End of input (</dev/null, a script): Click aborts with no message and exit 1. A
        # password piped in twice still works; only its absence is refused.
        from hub.errors import ValidationFailed

        raise ValidationFailed("no password given, and none could be read (end of input)",
                               hint="pass --password or set HUB_USER_PASSWORD") from None


@user_app.command("add")
def add(username: str = typer.Argument(..., help="login name"),
        role: str = typer.Option("viewer", help="admin, approver or viewer"),
        password: Optional[str] = typer.Option(
            None, envvar="HUB_USER_PASSWORD",
            help="default: asked for (also read from HUB_USER_PASSWORD)")) -> None:
    """Add a user; the password is stored only as an argon2 hash."""
    from hub.access import add_user, check_new_user
    from hub.db.engine import session_scope

    with session_scope(context().engine) as session:
        check_new_user(session, username, role)  # a bad name or role before the prompt
    secret = _password(password)
    with session_scope(context().engine) as session:
        user = add_user(session, username, secret, role)
        console.print(f"user {user.username} added ({user.role.value})")


@user_app.command("list")
def list_cmd() -> None:
    """List users, their roles and whether they are disabled."""
    from hub.access import list_users
    from hub.db.engine import session_scope

    with session_scope(context().engine) as session:
        users = list_users(session)
    if not users:
        console.print("no users yet: add one with `hub user add NAME --role admin`")
        return
    from rich.table import Table

    table = Table("User", "Role", "State", "Last login")
    for u in users:
        table.add_row(u.username, u.role.value,
                      f"disabled {u.disabled_at:%Y-%m-%d}" if u.disabled_at else "active",
                      f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "never")
    console.print(table)


@user_app.command("disable")
def disable(username: str) -> None:
    """Disable a user: they cannot log in and their open sessions end."""
    from hub.access import disable_user
    from hub.db.engine import session_scope

    ctx = context()
    with session_scope(ctx.engine) as session:
        disable_user(session, username, now=ctx.clock())
    console.print(f"user {username} disabled")


@user_app.command("enable")
def enable(username: str) -> None:
    """Let a disabled user log in again."""
    from hub.access import enable_user
    from hub.db.engine import session_scope

    with session_scope(context().engine) as session:
        enable_user(session, username)
    console.print(f"user {username} enabled")


@user_app.command("passwd")
def passwd(username: str,
           password: Optional[str] = typer.Option(None, envvar="HUB_USER_PASSWORD",
                                                  help="default: asked for")) -> None:
    """Set a user's password (their open sessions end)."""
    from hub.access import get_user, set_password
    from hub.db.engine import session_scope

    with session_scope(context().engine) as session:
        get_user(session, username)  # an unknown user before the prompt
    secret = _password(password)
    with session_scope(context().engine) as session:
        set_password(session, username, secret)
    console.print(f"password of {username} changed")


def register(app: typer.Typer) -> None:
    """Add ``hub user``."""
    app.add_typer(user_app, name="user")
