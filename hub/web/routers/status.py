"""``GET /health`` (no auth, no database: load balancers and the ingest benchmark's bare
endpoint) and ``GET /status`` (what ``hub status`` shows; needs a token)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from hub.host.context import HubContext
from hub.jobs.status import hub_status
from hub.web.deps import get_context, require_token
from hub.web.routers.webhooks import read_limited

__all__ = ["router"]

router = APIRouter(tags=["status"])


@router.get("/health", summary="Liveness check")
async def health() -> dict:
    """Always ``{"status": "ok"}`` while the process serves requests."""
    return {"status": "ok"}


@router.post("/health", summary="Liveness check that takes (and ignores) a body")
async def health_post(request: Request) -> dict:
    """Reads the body (at most ``web.max_webhook_bytes``, else 413, like a webhook: an
    unauthenticated endpoint never reads a large body) and answers ``{"status": "ok"}``: the
    bare endpoint the webhook ingest benchmark compares against."""
    await read_limited(request, request.app.state.ctx.settings.web.max_webhook_bytes)
    return {"status": "ok"}


@router.get("/status", summary="Queues, outbox, failed jobs, last pull/push per connection",
            dependencies=[Depends(require_token)])
def status(request: Request, ctx: HubContext = Depends(get_context)) -> dict:
    """The runtime's state (see ``hub status``)."""
    return hub_status(ctx, getattr(request.app.state, "runtime", None))
