"""``/jobs``: failed jobs and replaying them (what ``hub jobs`` does), bearer-token only."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from hub.host.context import HubContext
from hub.errors import NotFound
from hub.jobs.records import list_jobs, retry_all_failed, retry_job
from hub.jobs.status import sync_status
from hub.web.deps import get_context, require_token

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
def jobs(failed: bool = False, limit: int = 100,
         ctx: HubContext = Depends(get_context)) -> list[JobOut]:
    """``?failed=true`` for failed jobs only."""
    return [_out(r) for r in list_jobs(ctx.engine, failed_only=failed, limit=limit)]


@router.post("/{job_id}/retry", summary="Replay a failed job", response_model=JobOut)
def retry(job_id: int, request: Request) -> JobOut:
    """Put the job's outbox row back to pending (or resend its message)."""
    try:
        return _out(retry_job(request.app.state.runtime, job_id))
    except NotFound as exc:
        raise HTTPException(404, detail=exc.user_message()) from None


@router.post("/retry-failed", summary="Replay every failed job")
def retry_failed(request: Request) -> dict:
    """Replays all failed jobs; returns their ids."""
    return {"retried": retry_all_failed(request.app.state.runtime)}


@router.get("/documents/{kind}/{document_id}", summary="A document's sync status per connection")
def document_sync(kind: Literal["invoice", "credit_note", "payment"], document_id: int,
                  ctx: HubContext = Depends(get_context)) -> list[dict]:
    """Synced, failed with the vendor's reason, or waiting for a retry — per connection."""
    return sync_status(ctx, kind, document_id)
