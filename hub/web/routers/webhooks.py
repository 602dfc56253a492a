"""``POST /webhooks/{connection}``: payment webhooks in, stored once, processed in a job.

The raw body (at most ``settings.web.max_webhook_bytes``, else 413) goes to the owning plugin's
``hub_receive_payment`` hook, which checks the signature: a
:class:`~hub.errors.WebhookRejected` becomes its 4xx and nothing is stored. Each returned event
is stored once by (connection, event id) and a ``process_inbox_event`` job is enqueued for the
new ones (or, when this process has no way to reach a worker, a worker's dispatcher picks the
row up); the answer is 200 straight away, before any ledger work.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool

from hub.host.context import HubContext
from hub.db.models._base import utcnow
from hub.contract.records import WebhookRequest
from hub.errors import ConfigError, PluginError, WebhookRejected
from hub.jobs.inbox import store_events
from hub.observe.counters import count_webhook

__all__ = ["router", "read_limited"]

log = logging.getLogger("hub.web.webhooks")
router = APIRouter(tags=["webhooks"])


async def read_limited(request: Request, limit: int) -> bytes:
    """The body of ``request``, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            detail=f"webhook body over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                                detail=f"webhook body over {limit} bytes")
    return bytes(body)


def _receive_and_store(ctx: HubContext, runtime, connection_name: str,
                       webhook: WebhookRequest) -> dict:
    try:
        connection = ctx.connection(connection_name)
    except (ConfigError, PluginError):
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"no connection named {connection_name!r}") from None
    try:
        events = ctx.plugins.hook.hub_receive_payment(connection=connection, request=webhook)
    except WebhookRejected as exc:
        log.info("webhook rejected: %s", exc, extra={"connection": connection_name})
        raise HTTPException(exc.status_code, detail=str(exc)) from None
    if events is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"connection {connection_name!r} does not take webhooks")
    new_ids = store_events(ctx.engine, connection_name, events,
                           runtime.settings.dispatch_lease_seconds)
    if runtime.delivers:
        for inbox_id in new_ids:
            runtime.send("process_inbox_event", inbox_id)
    log.info("webhook: %d event(s), %d new", len(events), len(new_ids),
             extra={"connection": connection_name, "inbox_ids": new_ids})
    return {"received": len(events), "new": len(new_ids)}


@router.post("/webhooks/{connection}", summary="Receive a payment processor's webhook")
async def receive_webhook(connection: str, request: Request) -> dict:
    """Store the events of one webhook once each and answer at once (see module docs)."""
    ctx: HubContext = request.app.state.ctx
    try:
        body = await read_limited(request, ctx.settings.web.max_webhook_bytes)
        webhook = WebhookRequest(connection=connection, headers=dict(request.headers),
                                 body=body, received_at=utcnow())
        answer = await run_in_threadpool(_receive_and_store, ctx, request.app.state.runtime,
                                         connection, webhook)
    except HTTPException:
        count_webhook(connection, "refused")
        raise
    count_webhook(connection, "accepted")
    return answer
