"""``GET /metrics`` (Prometheus text format) and ``GET /health/ready`` (readiness).

Neither needs a token (scrapers and load balancers carry none) and neither reads a request
body; restrict ``/metrics`` to the monitoring network at the proxy (docs/production.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.observe.counters import flush
from hub.observe.health import readiness
from hub.observe.metrics import metrics_registry

__all__ = ["router"]

router = APIRouter(tags=["status"])


def _render(request: Request) -> bytes:
    ctx = request.app.state.ctx
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = request.app.state.metrics_registry = metrics_registry(ctx)
    flush(ctx.engine)  # this process's own counts (e.g. refused webhooks) first
    return generate_latest(registry)


@router.get("/metrics", summary="Prometheus metrics of the whole hub", response_class=Response,
            responses={200: {"description": "Prometheus text exposition format",
                             "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def metrics(request: Request) -> Response:
    """Jobs, outbox, failed jobs, webhooks, pulls, vendor calls and 429s, billing runs,
    confirmed invoices, heartbeats and rate budgets (see :mod:`hub.observe.metrics`)."""
    body = await run_in_threadpool(_render, request)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/health/ready", summary="Readiness: database, broker, migrations at head",
            responses={503: {"description": "a part is failing; `failing` names it"}})
async def ready(request: Request) -> JSONResponse:
    """200 when every part works; 503 naming each failing part (``failing``) otherwise."""
    ok, answer = await run_in_threadpool(readiness, request.app.state.ctx)
    return JSONResponse(answer, status_code=200 if ok else 503)
