"""The job runtime: a hub context, a broker, the actors declared on it, and a worker.

Built by :func:`hub.jobs.assemble.build_runtime`, which declares the actors on it (this module
imports no actor, so the actors, the push pipeline and the failure records can name
:class:`JobRuntime` without an import circle)::

    runtime = build_runtime(ctx)                 # broker from settings.broker_url
    runtime = build_runtime(ctx, broker=StubBroker())   # a test's broker
    worker = runtime.start_worker()              # threads consuming the hub queue
    runtime.send("pull_connection", "ninjaone")
    runtime.stop_worker()                        # finish in-flight work, return the rest
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dramatiq
from dramatiq import Broker, Worker

from hub.db.models._base import utcnow
from hub.host.connection_state import LAST_PULL_KEY
from hub.jobs.adapters import Services
from hub.jobs.broker import is_in_process
from hub.jobs.settings import JobSettings
from hub.observe.counters import flush as flush_counters

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["LAST_PULL_KEY", "WORKER_SHUTDOWN_TIMEOUT_SECONDS"]

log = logging.getLogger("hub.jobs")

#: How long a stopping worker waits for in-flight jobs before returning their messages.
WORKER_SHUTDOWN_TIMEOUT_SECONDS = 30.0
#: How often (ms) idle worker threads look at the queue; low keeps the embedded hub snappy.
WORKER_POLL_MS = 100


@dataclass
class JobRuntime:
    """Everything a job needs; built by :func:`build_runtime`."""

    ctx: "HubContext"
    broker: Broker
    settings: JobSettings
    services: Services = field(default_factory=Services)
    actors: dict[str, dramatiq.Actor] = field(default_factory=dict)
    worker: Worker | None = None

    @property
    def in_process(self) -> bool:
        """True on the embedded broker (its queue lives and dies with this process)."""
        return is_in_process(self.broker)

    @property
    def delivers(self) -> bool:
        """Whether a message sent here reaches a worker: always on Redis; on the in-process
        broker only while this process runs worker threads (``hub serve`` alone on the
        embedded defaults does not: a worker's dispatcher picks its rows up instead)."""
        return not self.in_process or self.worker is not None

    def send(self, actor_name: str, *args: Any, delay_seconds: float | None = None) -> Any:
        """Enqueue ``actor_name(*args)``; returns the dramatiq message."""
        actor = self.actors[actor_name]
        if delay_seconds:
            return actor.send_with_options(args=args, delay=int(delay_seconds * 1000))
        return actor.send(*args)

    def start_worker(self, threads: int | None = None) -> Worker:
        """Start worker threads consuming the hub queue in this process."""
        if self.worker is None:
            self.worker = Worker(self.broker, worker_threads=threads or self.settings.worker_threads,
                                 worker_timeout=WORKER_POLL_MS)
            self.worker.start()
            log.info("worker started", extra={"threads": self.worker.worker_threads})
        return self.worker

    def stop_worker(self, timeout_seconds: float = WORKER_SHUTDOWN_TIMEOUT_SECONDS) -> None:
        """Let running jobs finish, then stop. Messages not yet started go back to Redis; on
        the embedded broker their outbox rows stay pending/dispatched and are re-sent at the
        next start, so nothing is lost either way."""
        if self.worker is not None:
            self.worker.stop(timeout=int(timeout_seconds * 1000))
            self.worker = None
            log.info("worker stopped")

    def close(self) -> None:
        """Stop the worker and close the broker's connections."""
        self.stop_worker()
        self.broker.close()
        flush_counters(self.ctx.engine)  # what this process counted outlives it (/metrics)

    def note_activity(self, connection_name: str, what: str) -> None:
        """Remember when ``connection_name`` last completed a pull (``hub status`` shows it)."""
        if what == "pull":
            from hub.host.connection_state import DbConnectionState

            DbConnectionState(self.ctx.engine, connection_name, self.ctx.secret_box).set(
                LAST_PULL_KEY, utcnow().isoformat())
