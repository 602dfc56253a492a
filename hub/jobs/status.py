"""What ``hub status`` and ``GET /status`` show: queues, outbox, inbox, failed jobs, per
connection the last pull, the last push and the next scheduled runs, the live processes
(heartbeats of workers, schedulers and web servers) and the shared vendor rate budgets."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from hub.db.engine import session_scope
from hub.db.models.inbox import InboxEvent
from hub.db.models.jobs import ConnectionStateEntry, JobRecord, JobStatus
from hub.db.models.observe import ProcessHeartbeat
from hub.db.models.sync import ExternalLink, OutboxEntry
from hub.sources.budgets import budget_snapshots

if TYPE_CHECKING:
    from hub.host.context import HubContext
    from hub.jobs.runtime import JobRuntime

__all__ = ["hub_status", "sync_status"]


def _queue_sizes(runtime: "JobRuntime | None") -> dict[str, int | None]:
    if runtime is None:
        return {}
    from dramatiq.brokers.stub import StubBroker

    broker = runtime.broker
    queue = runtime.settings.queue
    if isinstance(broker, StubBroker):
        return {name: q.qsize() for name, q in broker.queues.items()}
    # imported only now: the Redis client is not loaded when the hub runs on the in-process broker
    from dramatiq.brokers.redis import RedisBroker

    if isinstance(broker, RedisBroker):
        # "<ns>:<queue>" lists waiting message ids; "<ns>:<queue>.DQ.msgs" holds delayed ones
        # (retries waiting for their backoff).
        client, ns = broker.client, broker.namespace
        return {f"{queue} waiting": client.llen(f"{ns}:{queue}"),
                f"{queue} delayed": client.hlen(f"{ns}:{queue}.DQ.msgs")}
    return {}


def _age(now: dt.datetime, then: dt.datetime) -> float:
    if then.tzinfo is None:
        then = then.replace(tzinfo=dt.timezone.utc)
    return max((now - then).total_seconds(), 0.0)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def hub_status(ctx: "HubContext", runtime: "JobRuntime | None" = None,
               now: dt.datetime | None = None) -> dict[str, Any]:
    """A JSON-ready summary of the runtime's state."""
    from hub.jobs.runtime import LAST_PULL_KEY
    from hub.jobs.scheduler import next_runs

    now = now or ctx.clock()
    with session_scope(ctx.engine) as session:
        outbox = dict(session.execute(select(OutboxEntry.status, func.count())
                                      .group_by(OutboxEntry.status)).all())
        inbox = dict(session.execute(select(InboxEvent.status, func.count())
                                     .group_by(InboxEvent.status)).all())
        failed = session.execute(select(func.count()).select_from(JobRecord)
                                 .where(JobRecord.status == JobStatus.failed)).scalar()
        last_push = dict(session.execute(select(ExternalLink.connection,
                                                func.max(ExternalLink.synced_at))
                                         .group_by(ExternalLink.connection)).all())
        last_pull = {row.connection: row.value.strip('"') for row in session.execute(
            select(ConnectionStateEntry).where(ConnectionStateEntry.key == LAST_PULL_KEY)).scalars()}
        beats = session.execute(select(ProcessHeartbeat).order_by(
            ProcessHeartbeat.kind, ProcessHeartbeat.process)).scalars().all()
        processes = [{"process": b.process, "kind": b.kind, "started_at": _iso(b.started_at),
                      "seen_seconds_ago": round(_age(now, b.seen_at), 1)} for b in beats]
    scheduled = {job: _iso(when) for job, when in next_runs(ctx, now).items()}
    connections = {
        config.name: {"plugin": config.plugin, "enabled": config.enabled,
                      "last_pull": last_pull.get(config.name),
                      "last_push": _iso(last_push.get(config.name)),
                      "next_pull": scheduled.get(f"pull:{config.name}")}
        for config in ctx.settings.connections}
    return {
        "broker": "redis" if ctx.settings.broker_url else "in-process",
        "queues": _queue_sizes(runtime),
        "outbox": {str(k): v for k, v in outbox.items()},
        "inbox": {str(k): v for k, v in inbox.items()},
        "failed_jobs": failed,
        "connections": connections,
        "next_runs": {job: when for job, when in scheduled.items() if not job.startswith("pull:")},
        "processes": processes,
        "rate_budgets": budget_snapshots(),
    }


def sync_status(ctx: "HubContext", kind: str, document_id: int) -> list[dict[str, Any]]:
    """Where one document stands with each connection: every requested effect (push, void,
    send, charge) with its status, attempts and last error (the vendor's message for a
    rejection), and its external id once synced."""
    with session_scope(ctx.engine) as session:
        rows = session.execute(select(OutboxEntry).where(
            OutboxEntry.document_kind == kind, OutboxEntry.document_id == document_id)
            .order_by(OutboxEntry.id)).scalars().all()
        links = {link.connection: link for link in session.execute(select(ExternalLink).where(
            ExternalLink.document_kind == kind, ExternalLink.document_id == document_id)).scalars()}
    return [{"connection": row.connection, "effect": str(row.effect), "status": str(row.status),
             "attempts": row.attempts, "last_error": row.last_error,
             "next_attempt_at": _iso(row.available_at) if row.status == "pending" else None,
             "finished_at": _iso(row.finished_at),
             "external_id": links[row.connection].external_id if row.connection in links else None}
            for row in rows]
