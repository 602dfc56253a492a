"""``/jobs``: failed jobs and replaying them (what ``hub jobs`` does), bearer-token only."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from hub.host.context import HubContext
from hub.jobs.records import list_jobs, retry_all_failed, retry_job
from hub.jobs.status import sync_status
from hub.web.deps import RowId, get_context, require_token

__all__ = ["router"]

router = APIRouter(prefix="/jobs", tags=["jobs"], dependencies=[Depends(require_token)])


class JobOut(BaseModel):
    """A recorded job."""

    id: int
    actor: str
    args: list[Any]
    status: str
    connection: str | None
    outbox_id: int | None
    document_kind: str | None
    document_id: int | None
    attempts: int
    reason: str
    created_at: dt.datetime
    retried_at: dt.datetime | None


def _out(record) -> JobOut:
    return JobOut.model_validate(record, from_attributes=True)


@router.get("", summary="Recorded jobs, newest first", response_model=list[JobOut])
def jobs(failed: bool = False, limit: int = Query(100, ge=1, le=1000),
         ctx: HubContext = Depends(get_context)) -> list[JobOut]:
    """``?failed=true`` for failed jobs only."""
    return [_out(r) for r in list_jobs(ctx.engine, failed_only=failed, limit=limit)]


@router.post("/{job_id}/retry", summary="Replay a failed job", response_model=JobOut)
def retry(job_id: RowId, request: Request) -> JobOut:
    """Put the job's outbox row back to pending (or resend its message); 404 for an unknown
    job, 409 for one that has not failed."""
    return _out(retry_job(request.app.state.runtime, job_id))


@router.post("/retry-failed", summary="Replay every failed job")
def retry_failed(request: Request) -> dict:
    """Replays all failed jobs; returns their ids."""
    return {"retried": retry_all_failed(request.app.state.runtime)}


@router.get("/documents/{kind}/{document_id}", summary="A document's sync status per connection")
def document_sync(kind: Literal["invoice", "credit_note", "payment"], document_id: RowId,
                  ctx: HubContext = Depends(get_context)) -> list[dict]:
    """Synced, failed with the vendor's reason, or waiting for a retry — per connection; 404
    for a document the hub does not hold."""
    from hub.billing.catalogue import get_or_404
    from hub.db.engine import session_scope
    from hub.db.models import CreditNote, Invoice, Payment

    model = {"invoice": Invoice, "credit_note": CreditNote, "payment": Payment}[kind]
    with session_scope(ctx.engine) as session:
        get_or_404(session, model, document_id, kind.replace("_", " "),
                   f"list them with `hub {kind.replace('_', '-')} list`")
    return sync_status(ctx, kind, document_id)
