"""Users (admins only): list, add, disable, set a password — the same services as
``hub user``."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse

from hub.access import add_user, disable_user, enable_user, list_users, set_password
from hub.db.engine import session_scope
from hub.db.models.access import Role
from hub.errors import ValidationFailed
from hub.web.admin.rendering import render
from hub.web.admin.routes import page_router
from hub.web.admin.security import PageUser, admin

router = page_router()


def _back(done: str) -> RedirectResponse:
    """To the users page with ``done`` shown (quoted: a username may hold ``&``, ``#``...)."""
    return RedirectResponse(f"/admin/users?{urlencode({'done': done})}", status_code=303)


@router.get("/users")
def users(request: Request, user: PageUser = Depends(admin)):
    """Every user with role, state and last login."""
    with session_scope(request.app.state.ctx.engine) as session:
        rows = list_users(session)
    return render(request, "users.html", rows=rows, roles=[r.value for r in Role])


@router.post("/users")
def add(request: Request, username: str = Form(""), role: str = Form("viewer"),
        password: str = Form(""), user: PageUser = Depends(admin)):
    """Add a user."""
    with session_scope(request.app.state.ctx.engine) as session:
        made = add_user(session, username, password, role)
        name = made.username
    return _back(f"User {name} added")


# ``:path``: a username may hold a "/" (quoted in the page, but routing sees it decoded)
@router.post("/users/{username:path}/disable")
def disable(request: Request, username: str, user: PageUser = Depends(admin)):
    """Disable a user (their sessions end at once)."""
    if username == user.username:
        raise ValidationFailed("you cannot disable yourself", hint="ask another admin")
    ctx = request.app.state.ctx
    with session_scope(ctx.engine) as session:
        disable_user(session, username, now=ctx.clock())
    return _back(f"User {username} disabled")


@router.post("/users/{username:path}/enable")
def enable(request: Request, username: str, user: PageUser = Depends(admin)):
    """Let a disabled user log in again."""
    with session_scope(request.app.state.ctx.engine) as session:
        enable_user(session, username)
    return _back(f"User {username} enabled")


@router.post("/users/{username:path}/password")
def password(request: Request, username: str, password: str = Form(""),
             user: PageUser = Depends(admin)):
    """Set a user's password (their sessions end)."""
    with session_scope(request.app.state.ctx.engine) as session:
        set_password(session, username, password)
    return _back(f"Password of {username} changed")
