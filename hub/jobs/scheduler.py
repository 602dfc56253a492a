"""The scheduler: per-connection pulls, the daily billing run, reminders and overdue checks.

When each job falls due is computed in :mod:`hub.jobs.schedule` (slots aligned to the epoch for
pulls, ``settings.billing.run_at`` in the company's time zone for the daily jobs). On each tick
a scheduler inserts a :class:`~hub.db.models.jobs.ScheduleClaim` row for every due slot and sends
the job only if its insert won: the unique ``(job, slot)`` constraint makes two schedulers
running at once harmless — the second one skips. A slot missed while no scheduler ran is caught
up once (the latest slot only, never a backlog).

The daily billing run creates a preview batch and confirms it at once when
``settings.billing.auto_confirm`` is true, else holds it for approval (``hub.billing``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from typing import TYPE_CHECKING, Callable

from sqlalchemy.exc import IntegrityError

from hub.contract.connections import utcnow
from hub.db.engine import session_scope
from hub.db.models.jobs import ScheduleClaim
from hub.jobs.schedule import (
    DAILY_JOBS, POLL_CAPABILITIES, PULL_CAPABILITIES, ScheduledRun, due_runs_of, next_runs_of,
)

if TYPE_CHECKING:
    from hub.host.context import HubContext
    from hub.jobs.runtime import JobRuntime

__all__ = ["Scheduler", "ScheduledRun", "due_runs", "next_runs", "SCHEDULER_TICK_SECONDS",
           "PULL_CAPABILITIES", "POLL_CAPABILITIES", "DAILY_JOBS"]

log = logging.getLogger("hub.jobs.scheduler")

#: How often a scheduler looks for due slots.
SCHEDULER_TICK_SECONDS = 15.0


def due_runs(ctx: "HubContext", now: dt.datetime) -> list[ScheduledRun]:
    """The latest slot of every scheduled job that is due at ``now``."""
    return due_runs_of(ctx.settings, ctx.plugins, now)


def next_runs(ctx: "HubContext", now: dt.datetime) -> dict[str, dt.datetime]:
    """When each scheduled job next falls due (``hub status`` shows these)."""
    return next_runs_of(ctx.settings, ctx.plugins, now)


class Scheduler:
    """Claims due slots and sends their jobs through ``runtime``."""

    def __init__(self, runtime: "JobRuntime", *, name: str | None = None,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.runtime = runtime
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.clock = clock or runtime.ctx.clock or utcnow
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def claim(self, run: ScheduledRun) -> bool:
        """Insert the claim row for ``run``; True if this scheduler won the slot."""
        try:
            with session_scope(self.runtime.ctx.engine) as session:
                session.add(ScheduleClaim(job=run.job, slot=run.slot, claimed_by=self.name))
            return True
        except IntegrityError:
            return False

    def tick(self, now: dt.datetime | None = None) -> list[ScheduledRun]:
        """Send every due job whose slot this scheduler wins; returns those runs."""
        now = now or self.clock()
        sent = []
        for run in due_runs(self.runtime.ctx, now):
            if self.claim(run):
                self.runtime.send(run.actor, *run.args)
                sent.append(run)
                log.info("scheduled %s for slot %s", run.job, run.slot.isoformat(),
                         extra={"job": run.actor, "slot": run.slot.isoformat()})
        return sent

    def start(self, interval: float = SCHEDULER_TICK_SECONDS) -> "Scheduler":
        """Tick in a background thread every ``interval`` seconds."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, args=(interval,),
                                        name="hub-scheduler", daemon=True)
        self._thread.start()
        return self

    def _loop(self, interval: float) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a database hiccup must not end scheduling; the slot stays due
                log.exception("scheduler tick failed; trying again in %.0fs", interval)
            self._stop.wait(interval)

    def stop(self) -> None:
        """Stop ticking."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
