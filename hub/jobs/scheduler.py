"""The scheduler: per-connection pulls, the daily billing run, reminders and overdue checks.

Every scheduled job has *slots*: a pull of a connection with ``pull_interval_minutes = 60`` has
one slot per clock hour (aligned to the epoch, so every scheduler computes the same slots); the
daily jobs have one slot per day at ``settings.billing.run_at`` in the company's time zone
(``company.time_zone``, an IANA name read with zoneinfo, so summer time moves the slot with it). On each tick a scheduler
inserts a :class:`~hub.db.models.jobs.ScheduleClaim` row for every due slot and sends the job
only if its insert won: the unique ``(job, slot)`` constraint makes two schedulers running at
once harmless — the second one skips. A slot missed while no scheduler ran is caught up once
(the latest slot only, never a backlog).

The daily billing run creates a preview batch and confirms it at once when
``settings.billing.auto_confirm`` is true, else holds it for approval (``hub.billing``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from sqlalchemy.exc import IntegrityError

from hub.contract.connections import utcnow
from hub.db.engine import session_scope
from hub.db.models.jobs import ScheduleClaim
from hub.errors import PluginError
from hub.jobs.polling import POLL_CAPABILITY

if TYPE_CHECKING:
    from hub.host.context import HubContext
    from hub.jobs.runtime import JobRuntime

__all__ = ["Scheduler", "ScheduledRun", "due_runs", "next_runs", "SCHEDULER_TICK_SECONDS",
           "PULL_CAPABILITIES", "POLL_CAPABILITIES", "DAILY_JOBS"]

log = logging.getLogger("hub.jobs.scheduler")

#: How often a scheduler looks for due slots.
SCHEDULER_TICK_SECONDS = 15.0
#: Connection types with any of these capabilities are pulled on their interval.
PULL_CAPABILITIES = frozenset({"pull", "usage"})
#: Connection types with this capability have their payment changes polled on their interval.
POLL_CAPABILITIES = frozenset({POLL_CAPABILITY})
#: Daily jobs at ``billing.run_at``: billing first, then overdue checks, the account calendar
#: (block/deactivate when their dates come), payment reminders and expiring-card reminders.
DAILY_JOBS = ("billing_run", "check_overdue", "account_calendar", "send_reminders",
              "card_reminders")

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class ScheduledRun:
    """One slot of one scheduled job: ``actor(*args)`` is due at ``slot``."""

    job: str
    slot: dt.datetime
    actor: str
    args: tuple


def _aligned(now: dt.datetime, minutes: int) -> dt.datetime:
    step = dt.timedelta(minutes=minutes)
    return _EPOCH + ((now - _EPOCH) // step) * step


def _pulled_connections(ctx: "HubContext",
                        capabilities: frozenset[str] = PULL_CAPABILITIES
                        ) -> list[tuple[str, int]]:
    result = []
    for config in ctx.settings.connections:
        if not config.enabled:
            continue
        try:
            ctype = ctx.plugins.connection_type(config.plugin)
        except PluginError as exc:
            log.warning("not scheduling pulls of %s: %s", config.name, exc,
                        extra={"connection": config.name})
            continue
        if ctype.capabilities & capabilities:
            result.append((config.name, config.pull_interval_minutes))
    return result


def _daily_slot(ctx: "HubContext", day: dt.date) -> dt.datetime:
    """``run_at`` on the company's local ``day``, as an aware UTC time."""
    zone = ctx.settings.company.zone
    local = dt.datetime.combine(day, ctx.settings.billing.run_at, tzinfo=zone)
    return local.astimezone(dt.timezone.utc)


def due_runs(ctx: "HubContext", now: dt.datetime) -> list[ScheduledRun]:
    """The latest slot of every scheduled job that is due at ``now``."""
    runs = [ScheduledRun(f"pull:{name}", _aligned(now, minutes), "pull_connection", (name,))
            for name, minutes in _pulled_connections(ctx)]
    # Payment changes polled too, so a missed webhook is caught up (hub.jobs.polling).
    runs += [ScheduledRun(f"poll:{name}", _aligned(now, minutes), "poll_payments", (name,))
             for name, minutes in _pulled_connections(ctx, POLL_CAPABILITIES)]
    today = now.astimezone(ctx.settings.company.zone).date()
    slot = _daily_slot(ctx, today)
    if now < slot:
        today = today - dt.timedelta(days=1)
        slot = _daily_slot(ctx, today)
    runs += [ScheduledRun(job, slot, job, (today.isoformat(),)) for job in DAILY_JOBS]
    return runs


def next_runs(ctx: "HubContext", now: dt.datetime) -> dict[str, dt.datetime]:
    """When each scheduled job next falls due (``hub status`` shows these)."""
    result = {f"pull:{name}": _aligned(now, minutes) + dt.timedelta(minutes=minutes)
              for name, minutes in _pulled_connections(ctx)}
    result.update({f"poll:{name}": _aligned(now, minutes) + dt.timedelta(minutes=minutes)
                   for name, minutes in _pulled_connections(ctx, POLL_CAPABILITIES)})
    today = now.astimezone(ctx.settings.company.zone).date()
    slot = _daily_slot(ctx, today)
    if now >= slot:
        slot = _daily_slot(ctx, today + dt.timedelta(days=1))
    result.update({job: slot for job in DAILY_JOBS})
    return result


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
