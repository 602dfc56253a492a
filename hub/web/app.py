"""The FastAPI app: webhooks in, REST API, OpenAPI docs at ``/docs``, the web admin under
``/admin`` (:mod:`hub.web.admin`).

:func:`create_app` includes every module of :mod:`hub.web.routers` that defines ``router``, and
mounts the routes plugins add through ``hub_register_routes`` under ``/plugins/``. Hub errors
become JSON answers at this one boundary (a refusal is a 4xx with the message and the fix).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from hub.errors import HubError
from hub.web.refusals import (
    ERROR_RESPONSES, ERROR_STATUS, ErrorBody, not_storable_message, status_of as _status_of,
)

if TYPE_CHECKING:
    from hub.host.context import HubContext
    from hub.jobs.runtime import JobRuntime

__all__ = ["create_app", "ERROR_STATUS", "ErrorBody", "ERROR_RESPONSES"]


log = logging.getLogger("hub.web")

#: The refusal of a request whose body is missing or is not a JSON object.
_BODY_REFUSAL = ("the request body must be a JSON object sent with Content-Type: "
                 "application/json (send {} when no field is needed) — see /docs for the "
                 "fields this takes")
#: pydantic's error types for a body that is missing or not an object (text, list, null).
_NO_OBJECT = frozenset({"missing", "model_attributes_type", "model_type", "dict_type"})


def create_app(ctx: "HubContext", runtime: "JobRuntime | None" = None) -> FastAPI:
    """The web app for ``ctx``. ``runtime`` is where webhooks enqueue jobs (default: one on
    the configured broker, without a worker — ``hub run`` passes its own)."""
    import hub.web.routers as routers_pkg

    if runtime is None:
        from hub.jobs.assemble import build_runtime

        runtime = build_runtime(ctx)
    # /docs is served by the admin from vendored Swagger UI files (works offline).
    app = FastAPI(title="MSP billing hub", version="0.1.0", docs_url=None, redoc_url=None,
                  description="Webhooks in, REST API for organisations, invoices, payments, "
                              "credit notes, batches and jobs. Authenticate with "
                              "`Authorization: Bearer <token>` (`hub token create NAME`).")
    app.state.ctx = ctx
    app.state.runtime = runtime

    @app.exception_handler(HubError)
    async def _hub_error(request: Request, exc: HubError) -> JSONResponse:
        return JSONResponse({"detail": exc.user_message(), "error": type(exc).__name__},
                            status_code=_status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        from hub.validation import describe_errors

        # The same one-line refusal as the CLI's, from the same rules.
        errors = exc.errors()
        message = describe_errors(errors)
        if any(tuple(e.get("loc", ())) == ("body",) and e.get("type") in _NO_OBJECT
               for e in errors):
            # pydantic names no field when the body as a whole is missing or not a JSON
            # object ("Field required"); say what the request lacks and how to send it. A
            # model's own rule on a body that is an object ("unit_price cannot be null") is
            # also located at the body, and keeps its message.
            message = _BODY_REFUSAL
        return JSONResponse({"detail": message, "error": "ValidationFailed"}, status_code=422)

    @app.exception_handler(OverflowError)
    async def _out_of_range(request: Request, exc: OverflowError) -> JSONResponse:
        # What the fields' own limits let through and still overflows on the way (a date so
        # near year 9999 that its due date or period end is past it, a number past what the
        # driver sends) is bad input, not a missing record: ids in paths are refused by their
        # type (RowId) before this.
        return JSONResponse({"detail": "a number or date in the request is too large to use "
                                       f"({exc}); check the values sent",
                             "error": "ValidationFailed"}, status_code=422)

    @app.exception_handler(DataError)
    async def _not_storable(request: Request, exc: DataError) -> JSONResponse:
        # A value the fields' own rules let through and the database still refuses (on
        # PostgreSQL a text with a NUL character, a number past a column's range) is bad
        # input, answered as such; the request's transaction was rolled back.
        return JSONResponse({"detail": not_storable_message(exc), "error": "ValidationFailed"},
                            status_code=422)

    for info in sorted(pkgutil.iter_modules(routers_pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routers_pkg.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            app.include_router(router, responses=ERROR_RESPONSES)

    from hub.web.admin import install as install_admin

    install_admin(app)  # pages under /admin, static assets, offline /docs, audit actor
    plugin_router = APIRouter()
    ctx.plugins.hook.hub_register_routes(router=plugin_router)
    if plugin_router.routes:
        app.include_router(plugin_router, prefix="/plugins")
    return app
