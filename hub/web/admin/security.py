"""Who may see and do what on the pages: sessions, CSRF, roles, and errors turned into pages.

Every page route uses :class:`AdminRoute`, which in one place:

- reads the signed session cookie (a visitor without one gets a fresh anonymous session);
- refuses any POST whose CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``) is
  missing or not this session's (403);
- turns a missing login into a redirect to the login page, a role that is not enough into a
  403 page, a hub refusal or bad form input into a page that says what is wrong — never a
  traceback or a 500 for a user's mistake.

Handlers declare who they serve with ``Depends(viewer)``, ``Depends(approver)`` or
``Depends(admin)``; each returns the logged-in :class:`PageUser`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError

from hub.access.sessions import SESSION_COOKIE, SESSION_MAX_AGE, SessionData, SessionSigner, session_key
from hub.access.users import allowed
from hub.audit.actor import set_actor
from hub.db.engine import session_scope
from hub.db.models.access import Role, User
from hub.errors import HubError, NotFound
from hub.web.refusals import not_storable_message, status_of as refusal_status

__all__ = ["AdminRoute", "PageUser", "viewer", "approver", "admin", "signer_of",
           "start_session", "LoginRequired", "Forbidden"]


#: Sent with every page: never framed by another site (clickjacking), no referrer leaves the
#: site, pages with documents on them are not kept in shared caches.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """No valid session: the route answers with a redirect to the login page."""


class Forbidden(Exception):
    """The request is refused (403) with ``message`` (a bad CSRF token, a role too low)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class PageUser:
    """The logged-in user of a request."""

    id: int
    username: str
    role: Role

    def can(self, needed: Role | str) -> bool:
        """True when this user's role may do what ``needed`` may."""
        return allowed(self.role, needed)


def signer_of(request: Request) -> SessionSigner:
    """The app's cookie signer (made once, from the installation key)."""
    state = request.app.state
    signer = getattr(state, "admin_signer", None)
    if signer is None:
        settings = state.ctx.settings
        signer = state.admin_signer = SessionSigner(
            session_key(settings.secret_key, settings.data_dir))
    return signer


def _session_of(request: Request) -> SessionData:
    """The request's session; a new anonymous one (cookie set on the way out) if it has none."""
    data = signer_of(request).loads(request.cookies.get(SESSION_COOKIE))
    if data is None:
        data = SessionData.anonymous()
        request.state.set_session = data
    request.state.session = data
    request.state.csrf_token = signer_of(request).csrf_token(data.sid)
    return data


def start_session(request: Request, user: User) -> None:
    """Log ``user`` in: a new session id (no fixation), cookie set on the response."""
    data = SessionData.anonymous()
    data.user_id, data.version = user.id, user.session_version
    request.state.set_session = data
    request.state.session = data
    request.state.csrf_token = signer_of(request).csrf_token(data.sid)


def end_session(request: Request) -> None:
    """Log out: the cookie is replaced by a fresh anonymous session."""
    request.state.set_session = SessionData.anonymous()


def _set_cookie(request: Request, response: Response, data: SessionData) -> None:
    response.set_cookie(SESSION_COOKIE, signer_of(request).dumps(data), max_age=SESSION_MAX_AGE,
                        httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")


def current_user(request: Request) -> PageUser:
    """The logged-in, enabled user whose session is still current, else :class:`LoginRequired`."""
    data: SessionData = request.state.session
    if data.user_id is None:
        raise LoginRequired()
    with session_scope(request.app.state.ctx.engine) as session:
        user = session.get(User, data.user_id)
        if user is None or user.disabled_at is not None or user.session_version != data.version:
            raise LoginRequired()
        page_user = PageUser(user.id, user.username, Role(user.role))
    request.state.user = page_user
    set_actor(f"user:{page_user.username}", "web")
    return page_user


def _needs(role: Role) -> Callable[..., PageUser]:
    def dependency(user: PageUser = Depends(current_user)) -> PageUser:
        if not user.can(role):
            raise Forbidden(f"this needs the {role.value} role; you are {user.role.value}. "
                            "Ask an admin if you need it.")
        return user

    dependency.__name__ = f"require_{role.value}"
    return dependency


viewer = _needs(Role.viewer)
approver = _needs(Role.approver)
admin = _needs(Role.admin)


class AdminRoute(APIRoute):
    """A page route: session, CSRF and errors handled as the module docstring says."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            from hub.web.admin.rendering import error_page

            data = _session_of(request)
            try:
                if request.method not in ("GET", "HEAD", "OPTIONS"):
                    if data.user_id is None and request.url.path != LOGIN_PATH:
                        # no session (it ended, or never began): log in, not "CSRF refused"
                        raise LoginRequired()
                    await _check_csrf(request, data)
                if data.user_id is not None:  # a visitor who is not logged in logs in first
                    _check_path_ids(request)
                response = await handler(request)
            except LoginRequired:
                response = RedirectResponse(f"/admin/login?next={quote(_return_to(request))}",
                                            status_code=303)
                if request.headers.get("HX-Request"):
                    response = Response(status_code=204, headers={"HX-Redirect": "/admin/login"})
            except Forbidden as exc:
                response = error_page(request, 403, "Not allowed", exc.message)
            except RequestValidationError as exc:
                response = error_page(request, 422, "Please check the form",
                                      "; ".join(_field_error(e) for e in exc.errors()))
            except HubError as exc:
                response = error_page(request, status_of(exc), "That did not work",
                                      exc.user_message())
            except OverflowError:
                # A number the parameter's type lets through but the database cannot take
                # (``?page=99999999999999999999`` on the audit trail, an organisation id in a
                # filter): bad input, answered with a page, not the REST API's JSON.
                response = error_page(request, 422, "Please check the address",
                                      "a number or date in the address or form is too large "
                                      "to use; correct it, or start again from the navigation")
            except DataError as exc:
                # A value the form's rules let through and the database refuses (a NUL on
                # PostgreSQL): a page saying so, as the REST API answers it with a 422.
                response = error_page(request, 422, "Please check the form",
                                      not_storable_message(exc))
            new = getattr(request.state, "set_session", None)
            if new is not None:
                _set_cookie(request, response, new)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return route


#: The one form a visitor who is not logged in may send.
LOGIN_PATH = "/admin/login"


def _check_path_ids(request: Request) -> None:
    """An id in the path past the largest a row can have names nothing: the page says so
    (looking it up would overflow the database's integer)."""
    from hub.validation.fields import MAX_ID

    for name, value in request.path_params.items():
        if isinstance(value, int) and value > MAX_ID:
            what = name.removesuffix("_id").replace("_", " ")
            raise NotFound(f"{what} {value} does not exist")


def _return_to(request: Request) -> str:
    """Where the login page leads back to: this page, or for a form sent after the session
    ended, the page the form was on (the form's own address answers POSTs only)."""
    if request.method in ("GET", "HEAD"):
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith("/admin/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return "/admin/"


async def _check_csrf(request: Request, data: SessionData) -> None:
    token = request.headers.get("X-CSRF-Token")
    if token is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        token = (await request.form()).get("csrf_token")
    if getattr(request.state, "set_session", None) is not None \
            or not signer_of(request).csrf_ok(data.sid, token if isinstance(token, str) else None):
        raise Forbidden("the form's security token is missing or out of date "
                        "(CSRF protection). Reload the page and try again.")


def status_of(exc: HubError) -> int:
    """The HTTP status the REST API gives ``exc`` (the same on pages)."""
    return refusal_status(exc)


def _field_error(error: dict) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "form"))
    return f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", "invalid")
