"""When scheduled jobs fall due: pure date arithmetic on the settings (no database, no broker).

Shared by the scheduler (:mod:`hub.jobs.scheduler`, which claims and sends the due slots) and by
``hub status`` / ``GET /status`` (which show the next ones); kept apart from the scheduler so
that ``hub status`` computes the same slots without importing SQLAlchemy or the job broker.

Every scheduled job has *slots*: a pull of a connection with ``pull_interval_minutes = 60`` has
one slot per clock hour (aligned to the epoch, so every scheduler computes the same slots); the
daily jobs have one slot per day at ``settings.billing.run_at`` in the company's time zone
(``company.time_zone``, an IANA name read with zoneinfo, so summer time moves the slot with it).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from hub.errors import PluginError

if TYPE_CHECKING:
    from hub.config import HubSettings
    from hub.contract.connections import ConnectionType

__all__ = ["ScheduledRun", "ConnectionTypes", "due_runs_of", "next_runs_of", "PULL_CAPABILITIES",
           "POLL_CAPABILITY", "POLL_CAPABILITIES", "DAILY_JOBS"]

log = logging.getLogger("hub.jobs.scheduler")

#: Connection types with any of these capabilities are pulled on their interval.
PULL_CAPABILITIES = frozenset({"pull", "usage"})
#: The capability of connection types whose payment changes can be polled (hub.jobs.polling).
POLL_CAPABILITY = "payments_poll"
#: Connection types with this capability have their payment changes polled on their interval.
POLL_CAPABILITIES = frozenset({POLL_CAPABILITY})
#: Daily jobs at ``billing.run_at``: billing first, then overdue checks, the account calendar
#: (block/deactivate when their dates come), payment reminders and expiring-card reminders.
DAILY_JOBS = ("billing_run", "check_overdue", "account_calendar", "send_reminders",
              "card_reminders")

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class ConnectionTypes(Protocol):
    """Where a connection's type (and so its capabilities) is looked up: the plugin host."""

    def connection_type(self, name: str) -> "ConnectionType": ...


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


def _pulled_connections(settings: "HubSettings", plugins: ConnectionTypes,
                        capabilities: frozenset[str] = PULL_CAPABILITIES
                        ) -> list[tuple[str, int]]:
    result = []
    for config in settings.connections:
        if not config.enabled:
            continue
        try:
            ctype = plugins.connection_type(config.plugin)
        except PluginError as exc:
            log.warning("not scheduling pulls of %s: %s", config.name, exc,
                        extra={"connection": config.name})
            continue
        if ctype.capabilities & capabilities:
            result.append((config.name, config.pull_interval_minutes))
    return result


def _daily_slot(settings: "HubSettings", day: dt.date) -> dt.datetime:
    """``run_at`` on the company's local ``day``, as an aware UTC time."""
    local = dt.datetime.combine(day, settings.billing.run_at, tzinfo=settings.company.zone)
    return local.astimezone(dt.timezone.utc)


def due_runs_of(settings: "HubSettings", plugins: ConnectionTypes,
                now: dt.datetime) -> list[ScheduledRun]:
    """The latest slot of every scheduled job that is due at ``now``."""
    runs = [ScheduledRun(f"pull:{name}", _aligned(now, minutes), "pull_connection", (name,))
            for name, minutes in _pulled_connections(settings, plugins)]
    # Payment changes polled too, so a missed webhook is caught up (hub.jobs.polling).
    runs += [ScheduledRun(f"poll:{name}", _aligned(now, minutes), "poll_payments", (name,))
             for name, minutes in _pulled_connections(settings, plugins, POLL_CAPABILITIES)]
    today = now.astimezone(settings.company.zone).date()
    slot = _daily_slot(settings, today)
    if now < slot:
        today = today - dt.timedelta(days=1)
        slot = _daily_slot(settings, today)
    runs += [ScheduledRun(job, slot, job, (today.isoformat(),)) for job in DAILY_JOBS]
    return runs


def next_runs_of(settings: "HubSettings", plugins: ConnectionTypes,
                 now: dt.datetime) -> dict[str, dt.datetime]:
    """When each scheduled job next falls due (``hub status`` shows these)."""
    result = {f"pull:{name}": _aligned(now, minutes) + dt.timedelta(minutes=minutes)
              for name, minutes in _pulled_connections(settings, plugins)}
    result.update({f"poll:{name}": _aligned(now, minutes) + dt.timedelta(minutes=minutes)
                   for name, minutes in _pulled_connections(settings, plugins, POLL_CAPABILITIES)})
    today = now.astimezone(settings.company.zone).date()
    slot = _daily_slot(settings, today)
    if now >= slot:
        slot = _daily_slot(settings, today + dt.timedelta(days=1))
    result.update({job: slot for job in DAILY_JOBS})
    return result
