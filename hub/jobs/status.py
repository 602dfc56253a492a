"""What ``hub status`` and ``GET /status`` show: queues, outbox, inbox, failed jobs, per
connection the last pull, the last push and the next scheduled runs, the live processes
(heartbeats of workers, schedulers and web servers) and the shared vendor rate budgets.

One implementation, :func:`read_status`, serves both: the web app (:func:`hub_status`) hands it
a raw connection of its engine and its broker's queues; ``hub status`` (:func:`standalone_status`)
a plain driver connection (:mod:`hub.db.dbapi`) and the queue lengths read from Redis itself.
The queries are plain SQL rather than the ORM on purpose: ``hub status`` starts a fresh process
each time and must answer within 0.3 s (issue #21), and importing SQLAlchemy, the ORM tables and
Dramatiq took 0.9 s of its 1.0 s (``python -X importtime``). Nothing here imports them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from hub.contract.connections import LAST_PULL_KEY
from hub.jobs.schedule import ConnectionTypes, next_runs_of

if TYPE_CHECKING:
    from hub.config import HubSettings
    from hub.host.context import HubContext
    from hub.jobs.runtime import JobRuntime

__all__ = ["hub_status", "standalone_status", "read_status", "redis_queue_sizes", "sync_status"]

#: ``(name, SQL)``, run in this order; ``?`` marks a parameter (see :func:`_run`). Table and
#: column names are the migrations' (hub.db.migrations).
_QUERIES = (
    ("outbox", "SELECT status, count(*) FROM outboxentry GROUP BY status"),
    ("inbox", "SELECT status, count(*) FROM inbox_event GROUP BY status"),
    ("failed", "SELECT count(*) FROM job_record WHERE status = ?"),
    ("last_push", "SELECT connection, max(synced_at) FROM externallink GROUP BY connection"),
    ("last_pull", "SELECT connection, value FROM connection_state WHERE key = ?"),
    ("beats", "SELECT process, kind, started_at, seen_at FROM process_heartbeat "
              "ORDER BY kind, process"),
)
#: The parameters of the queries that have one (JobStatus.failed is stored as its name).
_PARAMS = {"failed": ("failed",), "last_pull": (LAST_PULL_KEY,)}


def _run(connection: Any, paramstyle: str) -> dict[str, list[tuple]]:
    """Every query's rows, on a DB-API connection whose driver uses ``paramstyle``."""
    cursor = connection.cursor()
    try:
        rows = {}
        for name, sql in _QUERIES:
            if paramstyle != "qmark":  # psycopg: format/pyformat
                sql = sql.replace("?", "%s")
            cursor.execute(sql, _PARAMS.get(name, ()))
            rows[name] = cursor.fetchall()
        return rows
    finally:
        cursor.close()


def _timestamp(value: Any) -> dt.datetime | None:
    """A timestamp column's value: PostgreSQL's driver returns datetimes; SQLite has no date type
    and stores the text SQLAlchemy wrote (``2026-12-03 06:00:00.000000``), read back as the naive
    datetime SQLAlchemy would have made of it."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value)


def _age(now: dt.datetime, then: dt.datetime) -> float:
    if then.tzinfo is None:
        then = then.replace(tzinfo=dt.timezone.utc)
    return max((now - then).total_seconds(), 0.0)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def read_status(connection: Any, paramstyle: str, settings: "HubSettings",
                plugins: ConnectionTypes, *, queues: dict[str, int | None],
                rate_budgets: list[dict[str, Any]], now: dt.datetime) -> dict[str, Any]:
    """A JSON-ready summary of the runtime's state, read on the DB-API ``connection`` (whose
    driver's ``paramstyle`` is given); ``queues`` are the broker's queue lengths,
    ``rate_budgets`` the shared budgets' snapshots, and ``plugins`` tells each connection's
    capabilities (for the next scheduled pulls)."""
    rows = _run(connection, paramstyle)
    last_push = {name: _timestamp(when) for name, when in rows["last_push"]}
    last_pull = {name: value.strip('"') for name, value in rows["last_pull"]}
    processes = [{"process": process, "kind": kind,
                  "started_at": _iso(_timestamp(started)),
                  "seen_seconds_ago": round(_age(now, _timestamp(seen)), 1)}
                 for process, kind, started, seen in rows["beats"]]
    scheduled = {job: _iso(when) for job, when in next_runs_of(settings, plugins, now).items()}
    connections = {
        config.name: {"plugin": config.plugin, "enabled": config.enabled,
                      "last_pull": last_pull.get(config.name),
                      "last_push": _iso(last_push.get(config.name)),
                      "next_pull": scheduled.get(f"pull:{config.name}")}
        for config in settings.connections}
    return {
        "broker": "redis" if settings.broker_url else "in-process",
        "queues": queues,
        "outbox": {str(k): v for k, v in rows["outbox"]},
        "inbox": {str(k): v for k, v in rows["inbox"]},
        "failed_jobs": rows["failed"][0][0],
        "connections": connections,
        "next_runs": {job: when for job, when in scheduled.items() if not job.startswith("pull:")},
        "processes": processes,
        "rate_budgets": rate_budgets,
    }


def redis_queue_sizes(client: Any, namespace: str, queue: str) -> dict[str, int]:
    """The waiting and delayed messages of ``queue`` on the Redis broker: ``<ns>:<queue>``
    lists waiting message ids; ``<ns>:<queue>.DQ.msgs`` holds delayed ones (retries waiting
    for their backoff), as Dramatiq's Redis broker keeps them."""
    return {f"{queue} waiting": client.llen(f"{namespace}:{queue}"),
            f"{queue} delayed": client.hlen(f"{namespace}:{queue}.DQ.msgs")}


def _queue_sizes(runtime: "JobRuntime | None") -> dict[str, int | None]:
    if runtime is None:
        return {}
    from dramatiq.brokers.stub import StubBroker

    broker = runtime.broker
    if isinstance(broker, StubBroker):
        return {name: q.qsize() for name, q in broker.queues.items()}
    # imported only now: the Redis client is not loaded when the hub runs on the in-process broker
    from dramatiq.brokers.redis import RedisBroker

    if isinstance(broker, RedisBroker):
        return redis_queue_sizes(broker.client, broker.namespace, runtime.settings.queue)
    return {}


def hub_status(ctx: "HubContext", runtime: "JobRuntime | None" = None,
               now: dt.datetime | None = None) -> dict[str, Any]:
    """The summary for a process that runs the hub (the web app): its engine, its broker."""
    from hub.sources.budgets import budget_snapshots

    connection = ctx.engine.raw_connection()
    try:
        return read_status(connection, ctx.engine.dialect.paramstyle, ctx.settings, ctx.plugins,
                           queues=_queue_sizes(runtime), rate_budgets=budget_snapshots(),
                           now=now or ctx.clock())
    finally:
        connection.close()


def standalone_status(settings: "HubSettings", plugins: ConnectionTypes,
                      now: dt.datetime | None = None) -> dict[str, Any]:
    """The summary for ``hub status``: a process of its own, with no broker or engine of its
    own. With Redis, the queues and the shared rate budgets are read where the workers keep them
    (as :func:`hub.jobs.assemble.build_runtime` points them). The in-process broker's queues and
    budgets live and die with their process, so a separate one sees the declared queue and its
    delay queue empty and no budget, as an in-process broker and store made here would report
    them. An unreachable Redis leaves the queues and budgets out and adds ``broker_error``."""
    from hub.contract.connections import utcnow  # the clock HubContext uses by default
    from hub.db.dbapi import connect
    from hub.jobs.settings import JobSettings, broker_kind

    job_settings = JobSettings.from_environment()
    redis = broker_kind(settings.broker_url) == "redis"
    connection, paramstyle = connect(settings.resolved_database_url)
    broker_error: str | None = None
    try:
        if redis:
            import redis as redis_client  # only with a Redis broker

            from hub.sources.budgets import budget_snapshots, configure_budgets

            configure_budgets(settings.broker_url, job_settings.namespace)
            client = redis_client.Redis.from_url(settings.broker_url)
            try:
                queues = redis_queue_sizes(client, job_settings.namespace, job_settings.queue)
                budgets = budget_snapshots()
            except redis_client.RedisError as exc:
                # The database half of the status is still worth showing: the caller says
                # the broker is unreachable (see "broker_error") after printing it.
                queues, budgets = {}, []
                broker_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            finally:
                client.close()
        else:
            queues = {job_settings.queue: 0, f"{job_settings.queue}.DQ": 0}
            budgets = []  # kept in each process's memory: none in this fresh one
        data = read_status(connection, paramstyle, settings, plugins, queues=queues,
                           rate_budgets=budgets, now=now or utcnow())
    finally:
        connection.close()
    if broker_error is not None:
        data["broker_error"] = broker_error
    return data


def sync_status(ctx: "HubContext", kind: str, document_id: int) -> list[dict[str, Any]]:
    """Where one document stands with each connection: every requested effect (push, void,
    send, charge) with its status, attempts and last error (the vendor's message for a
    rejection), and its external id once synced."""
    # imported here: the ORM is not needed by read_status (see the module docstring)
    from sqlalchemy import select

    from hub.db.engine import session_scope
    from hub.db.models.sync import ExternalLink, OutboxEntry

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
