"""The sandbox as a web app: every ``/v1/...`` request goes to :meth:`StripeSandbox.handle`.

Run it for a demo with ``uvicorn --factory hub_payments_stripe.sandbox.app:create_default_app``
and point a connection's ``api_base`` at it.
"""

from __future__ import annotations

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hub_payments_stripe.sandbox.state import StripeSandbox

__all__ = ["create_app", "create_default_app"]


def create_app(sandbox: StripeSandbox) -> FastAPI:
    """A FastAPI app answering like Stripe from ``sandbox``'s state."""
    app = FastAPI(title="Stripe sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = sandbox

    @app.api_route("/v1/{rest:path}", methods=["GET", "POST", "DELETE"])
    async def stripe_api(request: Request) -> JSONResponse:
        raw = await request.body()
        text = request.url.query if request.method in ("GET", "DELETE") else raw.decode("utf-8")
        # The sandbox is synchronous and holds a lock: run it off the event loop.
        status, body, headers = await to_thread.run_sync(
            sandbox.handle, request.method, request.url.path, text, dict(request.headers))
        return JSONResponse(body, status_code=status, headers=headers)

    return app


def create_default_app() -> FastAPI:
    """An app over a fresh sandbox with the default test keys (for ``uvicorn --factory``)."""
    return create_app(StripeSandbox())
