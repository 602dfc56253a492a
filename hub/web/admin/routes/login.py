"""Logging in and out."""

from __future__ import annotations

from fastapi import Form, Request
from fastapi.responses import RedirectResponse

from hub.access.throttle import ClientThrottle
from hub.access.users import LoginRefused, TooManyAttempts, authenticate
from hub.audit import record
from hub.db.engine import session_scope
from hub.web.admin.rendering import render
from hub.web.admin.routes import page_router
from hub.web.admin.security import end_session, start_session

router = page_router()


def _throttle(request: Request) -> ClientThrottle:
    """The per-client login throttle (its counts are in the hub's database, shared by every
    web process)."""
    state = request.app.state
    if getattr(state, "login_throttle", None) is None:
        state.login_throttle = ClientThrottle(state.ctx.engine)
    return state.login_throttle


def _local(target: str | None) -> str:
    """Only a path on this site (never ``//evil.example``) may be a redirect target."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin/"


@router.get("/login")
def login_form(request: Request, next: str = "/admin/"):
    """The login form (every visitor gets a session, so this form has a CSRF token too)."""
    return render(request, "login.html", next=_local(next), error=None, username="")


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""),
          next: str = Form("/admin/")):
    """Check the password; after repeated wrong ones the account is locked for a while."""
    ctx = request.app.state.ctx
    throttle = _throttle(request)
    client = request.client.host if request.client else "unknown"
    now = ctx.clock()
    try:
        wait = throttle.retry_after(client, now)
        if wait is not None:
            raise TooManyAttempts(wait)
        user = authenticate(ctx.engine, username, password, now=now)
    except TooManyAttempts as exc:
        response = render(request, "login.html", status_code=429, next=_local(next),
                          error=exc.user_message(), username=username)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except LoginRefused as exc:
        throttle.failed(client, now)
        return render(request, "login.html", status_code=401, next=_local(next),
                      error=exc.user_message(), username=username)
    start_session(request, user)
    with session_scope(ctx.engine) as session:
        record(session, "user.logged_in", "user", user.username, actor=f"user:{user.username}",
               via="web")
    return RedirectResponse(_local(next), status_code=303)


@router.post("/logout")
def logout(request: Request):
    """End the session."""
    end_session(request)
    return RedirectResponse("/admin/login", status_code=303)
