"""What every long-running process does at start and while it runs.

:func:`start_process` logs the start with a configuration summary (secrets redacted, the
Redis and database passwords included), checks that this process's key reads the stored
secrets (:func:`hub.host.secret_check.verify_secret_key`), and starts a :class:`ProcessMonitor`
whose thread writes the process's heartbeat (``hub status``, ``/metrics``) and adds its
counters to the database every few seconds.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, update
from sqlalchemy.exc import SQLAlchemyError

from hub.db.models._base import utcnow
from hub.db.models.observe import ProcessHeartbeat
from hub.host.secret_check import verify_secret_key
from hub.observe.counters import flush

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["start_process", "ProcessMonitor", "config_summary", "HEARTBEAT_SECONDS"]

log = logging.getLogger("hub.process")

#: How often a process writes its heartbeat and flushes its counters.
HEARTBEAT_SECONDS = 5.0


def config_summary(ctx: "HubContext", **extra: Any) -> dict[str, Any]:
    """What a process runs with, safe to log: URLs with passwords masked, no secret values."""
    data = ctx.settings.redacted()
    return {"database": data.get("database_url") or ctx.settings.resolved_database_url,
            "broker": data.get("broker_url") or "in-process",
            "data_dir": data["data_dir"], "secret_key": "HUB_SECRET_KEY" if ctx.settings.secret_key
            else "data_dir/secret.key", "log_level": data["log_level"],
            "time_zone": data["company"].get("time_zone"),
            "web": f'{data["web"]["host"]}:{data["web"]["port"]}',
            "connections": {c["name"]: c["plugin"] for c in data["connections"]}, **extra}


class ProcessMonitor:
    """The heartbeat thread of one process (see the module docstring)."""

    def __init__(self, ctx: "HubContext", kind: str, *, interval: float = HEARTBEAT_SECONDS,
                 detail: dict[str, Any] | None = None) -> None:
        self.ctx = ctx
        self.kind = kind
        self.interval = interval
        self.detail = detail or {}
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.process = f"{kind}@{self.host}:{self.pid}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        """Write the heartbeat now (insert on the first beat) and flush the counters."""
        now = utcnow()
        try:
            with self.ctx.engine.begin() as conn:
                done = conn.execute(update(ProcessHeartbeat).where(
                    ProcessHeartbeat.process == self.process).values(seen_at=now)).rowcount
                if not done:
                    conn.execute(ProcessHeartbeat.__table__.insert().values(
                        process=self.process, kind=self.kind, host=self.host, pid=self.pid,
                        started_at=now, seen_at=now, detail=self.detail))
        except SQLAlchemyError as exc:
            log.warning("heartbeat not written: %s", type(exc).__name__,
                        extra={"reason": str(exc).splitlines()[0][:200]})
        flush(self.ctx.engine)

    def start(self) -> "ProcessMonitor":
        """Beat once now, then every ``interval`` seconds in a daemon thread."""
        self.beat()
        self._thread = threading.Thread(target=self._run, name=f"hub-heartbeat-{self.kind}",
                                        daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def stop(self) -> None:
        """Stop beating, flush the counters and remove this process's heartbeat."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
        flush(self.ctx.engine)
        try:
            with self.ctx.engine.begin() as conn:
                conn.execute(delete(ProcessHeartbeat).where(
                    ProcessHeartbeat.process == self.process))
        except SQLAlchemyError as exc:
            log.warning("heartbeat not removed: %s", type(exc).__name__)


def start_process(ctx: "HubContext", kind: str, **extra: Any) -> ProcessMonitor:
    """Log the start with the configuration summary, check the secret key, start the
    heartbeat. Raises :class:`~hub.errors.ConfigError` when the key cannot read the secrets or a
    connection's settings are refused."""
    summary = config_summary(ctx, **extra)
    log.info("hub %s starting", kind, extra={"hub_process": kind, "config": summary})
    verify_secret_key(ctx)
    ctx.connections()  # every connection's settings valid (no plain-text secret) before work
    return ProcessMonitor(ctx, kind, detail={"config": summary}).start()
