"""Wiring the admin pages, static files, offline API docs and the audit actor into the app."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.audit.actor import acting_as
from hub.web.admin.paths import PREFIX

__all__ = ["install", "STATIC_DIR", "PREFIX"]

STATIC_DIR = Path(__file__).with_name("static")


class AuditActorMiddleware:
    """Give each HTTP request its own audit actor box (filled in once the caller is known)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with acting_as("anonymous", "web"):
            await self.app(scope, receive, send)


#: What a page says when no route answers an address under the admin.
_NO_ROUTE = {
    404: ("Page not found", "there is no page at this address; use the navigation or go home"),
    405: ("Not a page", "this address only takes a form sent from its page; go back to the page "
                        "with the form and send it from there"),
}


async def _no_such_page(request: Request, exc: StarletteHTTPException) -> Response:
    """An admin address no route answers (``/admin/invoices/-1``, a form's address opened
    after logging in again) is a page with the way back, not the API's JSON; every other
    address keeps FastAPI's answer."""
    from hub.web.admin.rendering import error_page

    path = request.url.path
    if exc.status_code in _NO_ROUTE and (path == PREFIX or path.startswith(f"{PREFIX}/")) \
            and not path.startswith(f"{PREFIX}/static/"):
        title, message = _NO_ROUTE[exc.status_code]
        return error_page(request, exc.status_code, title, message)
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    """Add the admin pages, static files and offline ``/docs`` to ``app`` (see package doc).

    ``app`` must have been created with ``docs_url=None``."""
    import hub.web.admin.routes as routes_pkg

    app.add_middleware(AuditActorMiddleware)
    app.add_exception_handler(StarletteHTTPException, _no_such_page)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="admin-static")
    for info in sorted(pkgutil.iter_modules(routes_pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes_pkg.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            app.include_router(router, prefix=PREFIX, include_in_schema=False)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title=f"{app.title} — API",
            swagger_js_url=f"{PREFIX}/static/vendor/swagger-ui-bundle.js",
            swagger_css_url=f"{PREFIX}/static/vendor/swagger-ui.css",
            swagger_favicon_url=f"{PREFIX}/static/vendor/favicon-32x32.png")
