"""Failed jobs: recorded with their reason, listed by ``hub jobs list``, replayed by
``hub jobs retry``.

A job tied to an outbox row or inbox event is replayed by reopening that row (so the dispatcher
sends it, exactly as the first time); any other job is marked *requested* and the dispatcher
sends its message again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from hub import audit
from hub.db.engine import session_scope
from hub.db.models._base import utcnow
from hub.db.models.inbox import InboxEvent, InboxStatus
from hub.db.models.jobs import JobRecord, JobStatus
from hub.db.models.sync import OutboxEntry, OutboxStatus
from hub.errors import EditNotAllowed, NotFound

if TYPE_CHECKING:
    from hub.jobs.runtime import JobRuntime

__all__ = ["record_failure", "list_jobs", "retry_job", "retry_all_failed", "send_requested"]

log = logging.getLogger("hub.jobs")


def record_failure(engine: Engine, *, actor: str, args: Iterable[Any], reason: str,
                   attempts: int, connection: str | None = None, outbox_id: int | None = None,
                   document_kind: str | None = None, document_id: int | None = None,
                   message_id: str | None = None, session=None) -> None:
    """Write a failed-job record (in ``session`` when given, so it commits with the outcome)."""
    record = JobRecord(actor=actor, args=list(args), reason=reason[:4000], attempts=attempts,
                       connection=connection, outbox_id=outbox_id, document_kind=document_kind,
                       document_id=document_id, message_id=message_id)
    if session is not None:
        session.add(record)
    else:
        with session_scope(engine) as own:
            own.add(record)
    log.warning("job failed", extra={"job": actor, "connection": connection,
                                     "outbox_id": outbox_id, "document_kind": document_kind,
                                     "document_id": document_id, "reason": reason})


def list_jobs(engine: Engine, *, failed_only: bool = False, limit: int = 100,
              offset: int = 0) -> list[JobRecord]:
    """Recorded jobs, newest first (``limit`` of them after skipping ``offset``)."""
    with session_scope(engine) as session:
        query = select(JobRecord).order_by(JobRecord.id.desc()).limit(limit).offset(offset)
        if failed_only:
            query = query.where(JobRecord.status == JobStatus.failed)
        return list(session.execute(query).scalars())


def retry_job(runtime: "JobRuntime", job_id: int) -> JobRecord:
    """Replay failed job ``job_id``; returns its record.

    A job tied to an outbox row or an inbox event is replayed by reopening that row (the
    dispatcher sends it as the first time). Any other job is marked *requested* and the next
    dispatcher pass sends it — so a replay asked for from the CLI reaches a worker even on the
    embedded broker, whose queue lives in the worker's process.
    """
    engine = runtime.ctx.engine
    with session_scope(engine) as session:
        record = session.get(JobRecord, job_id)
        if record is None:
            raise NotFound(f"no job {job_id}", hint="see `hub jobs list --failed`")
        if record.status != JobStatus.failed:
            raise EditNotAllowed(f"job {job_id} is not failed (it is {record.status.value})",
                                 hint="only failed jobs are replayed: see `hub jobs list "
                                      "--failed`")
        record.retried_at = utcnow()
        if record.outbox_id is not None:
            # Back to pending with a fresh attempt budget: the dispatcher sends it again.
            session.execute(update(OutboxEntry).where(
                OutboxEntry.id == record.outbox_id, OutboxEntry.status == OutboxStatus.failed)
                .values(status=OutboxStatus.pending, attempts=0, available_at=utcnow(),
                        finished_at=None))
            record.status = JobStatus.retried
        elif record.actor == "process_inbox_event" and record.args:
            session.execute(update(InboxEvent).where(
                InboxEvent.id == record.args[0], InboxEvent.status == InboxStatus.failed)
                .values(status=InboxStatus.pending, attempts=0, available_at=utcnow()))
            record.status = JobStatus.retried
        else:
            record.status = JobStatus.requested
        session.add(record)
        audit.record(session, "job.replayed", "job", job_id,
                     summary=f"{record.actor} ({record.connection or 'no connection'})")
    log.info("job replay requested", extra={"job": record.actor, "job_id": job_id})
    return record


def send_requested(runtime: "JobRuntime") -> int:
    """Send every job whose replay was requested (called by the dispatcher); returns how many."""
    with session_scope(runtime.ctx.engine) as session:
        query = select(JobRecord).where(JobRecord.status == JobStatus.requested).limit(500)
        if runtime.ctx.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        records = list(session.execute(query).scalars())
        for record in records:
            record.status = JobStatus.retried
            session.add(record)
        replays = [(record.actor, list(record.args)) for record in records]
    for actor, args in replays:
        runtime.send(actor, *args)
    return len(replays)


def retry_all_failed(runtime: "JobRuntime") -> list[int]:
    """Replay every failed job; returns their ids."""
    ids = [r.id for r in list_jobs(runtime.ctx.engine, failed_only=True, limit=100_000)]
    for job_id in ids:
        retry_job(runtime, job_id)
    return ids
