"""Wiring the admin pages, static files, offline API docs and the audit actor into the app."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from hub.audit.actor import acting_as

__all__ = ["install", "STATIC_DIR", "PREFIX"]

STATIC_DIR = Path(__file__).with_name("static")
#: Where the pages live.
PREFIX = "/admin"


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


def install(app: FastAPI) -> None:
    """Add the admin pages, static files and offline ``/docs`` to ``app`` (see package doc).

    ``app`` must have been created with ``docs_url=None``."""
    import hub.web.admin.routes as routes_pkg

    app.add_middleware(AuditActorMiddleware)
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
