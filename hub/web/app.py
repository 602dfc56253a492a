"""The FastAPI app: webhooks in, REST API, OpenAPI docs at ``/docs``.

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
from pydantic import BaseModel

from hub.errors import (
    ConfigError, DocumentRefused, HubError, NotFound, PluginError, ValidationFailed,
)

if TYPE_CHECKING:
    from hub.host.context import HubContext
    from hub.jobs.runtime import JobRuntime

__all__ = ["create_app", "ERROR_STATUS", "ErrorBody", "ERROR_RESPONSES"]


class ErrorBody(BaseModel):
    """Every refusal's body: one line saying what is wrong and what to do, and its kind."""

    detail: str
    error: str = ""


#: Documented on every route, so the OpenAPI says what a refusal looks like.
ERROR_RESPONSES: dict[int | str, dict] = {
    code: {"model": ErrorBody, "description": text} for code, text in (
        (400, "refused"), (401, "missing, invalid, expired or revoked token"),
        (403, "the token's scope does not allow this"), (404, "no such record"),
        (409, "the record's status forbids this change"),
        (422, "invalid input; nothing was stored"), (502, "a plugin failed"))}

log = logging.getLogger("hub.web")

#: How each refusal is answered; anything else that is a HubError is a 400.
ERROR_STATUS: tuple[tuple[type[HubError], int], ...] = (
    (NotFound, 404), (ValidationFailed, 422), (DocumentRefused, 409), (ConfigError, 400),
    (PluginError, 502),
)


def _status_of(exc: HubError) -> int:
    for kind, code in ERROR_STATUS:
        if isinstance(exc, kind):
            return code
    return 400


def create_app(ctx: "HubContext", runtime: "JobRuntime | None" = None) -> FastAPI:
    """The web app for ``ctx``. ``runtime`` is where webhooks enqueue jobs (default: one on
    the configured broker, without a worker — ``hub run`` passes its own)."""
    import hub.web.routers as routers_pkg

    if runtime is None:
        from hub.jobs.assemble import build_runtime

        runtime = build_runtime(ctx)
    app = FastAPI(title="MSP billing hub", version="0.1.0", docs_url="/docs",
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
        message = describe_errors(exc.errors())
        return JSONResponse({"detail": message, "error": "ValidationFailed"}, status_code=422)

    @app.exception_handler(OverflowError)
    async def _out_of_range(request: Request, exc: OverflowError) -> JSONResponse:
        # A number no column can hold (an id past 2^31, say) names no record.
        return JSONResponse({"detail": "a number in the request is out of range; no such "
                                       "record", "error": "NotFound"}, status_code=404)

    for info in sorted(pkgutil.iter_modules(routers_pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routers_pkg.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            app.include_router(router, responses=ERROR_RESPONSES)

    plugin_router = APIRouter()
    ctx.plugins.hook.hub_register_routes(router=plugin_router)
    if plugin_router.routes:
        app.include_router(plugin_router, prefix="/plugins")
    return app
