"""Catching up missed payment webhooks: poll a connection for what changed since the last
poll (#19: a missed Xero webhook was never caught up).

A connection type with the ``payments_poll`` capability is polled on the scheduler at its
``pull_interval_minutes``. Each poll asks the plugin's ``hub_poll_payments`` hook for the events
since the last poll's start (less :data:`POLL_OVERLAP`, for clock skew; the first poll looks
back :data:`FIRST_POLL_LOOKBACK`), stores them in the inbox exactly as a webhook's (one row per
event id: an event the webhook already brought is not stored again) and has them applied by the
``process_inbox_event`` job. The time is advanced only after the events are stored, so a failed
poll is asked again from the same point.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from hub.errors import PluginError
from hub.jobs.inbox import store_events
from hub.jobs.schedule import POLL_CAPABILITY

if TYPE_CHECKING:
    from hub.host.context import HubContext
    from hub.jobs.runtime import JobRuntime

__all__ = ["poll_payments", "POLL_CAPABILITY", "POLL_SINCE_KEY", "POLL_OVERLAP",
           "FIRST_POLL_LOOKBACK"]

log = logging.getLogger("hub.jobs.polling")

#: Connection types with this capability are polled for payment changes.
#: Connection-state key: when the last successful poll started (ISO time).
POLL_SINCE_KEY = "_hub.poll_payments.since"
#: Each poll reaches back this far before the last one's start (the source's clock may lag).
POLL_OVERLAP = dt.timedelta(minutes=5)
#: A connection never polled looks back this far (webhooks covered the time before).
FIRST_POLL_LOOKBACK = dt.timedelta(days=1)


def poll_payments(ctx: "HubContext", runtime: "JobRuntime | None",
                  connection_name: str) -> list[int]:
    """Poll one connection; returns the inbox ids of the events that were new."""
    connection = ctx.connection(connection_name)
    started = ctx.clock()
    last = connection.state.get(POLL_SINCE_KEY)
    since = (dt.datetime.fromisoformat(last) - POLL_OVERLAP) if last else \
        started - FIRST_POLL_LOOKBACK
    events = ctx.plugins.hook.hub_poll_payments(connection=connection, since=since)
    if events is None:
        raise PluginError(f"connection {connection_name!r} ({connection.plugin}) cannot be "
                          "polled for payments",
                          hint="its plugin declares payments_poll but has no hub_poll_payments")
    lease = runtime.settings.dispatch_lease_seconds if runtime is not None else 60
    new_ids = store_events(ctx.engine, connection_name, events, lease)
    if runtime is not None and runtime.delivers:
        for inbox_id in new_ids:
            runtime.send("process_inbox_event", inbox_id)
    connection.state.set(POLL_SINCE_KEY, started.isoformat())
    log.info("polled %s: %d event(s), %d new", connection_name, len(events), len(new_ids),
             extra={"connection": connection_name, "inbox_ids": new_ids})
    return new_ids
