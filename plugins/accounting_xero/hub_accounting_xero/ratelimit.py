"""Per-organisation rate-limit bookkeeping from Xero's response headers.

Xero allows 60 calls a minute, 5 in flight and 5,000 a day per connected organisation. The
remaining counts arrive on every answer (``X-MinLimit-Remaining``, ``X-DayLimit-Remaining``,
``X-AppMinLimit-Remaining``). In-flight calls are bounded per process by a semaphore; a day
limit reached pauses that connection only, through ``connection.state`` so every worker sees it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from hub import Connection

__all__ = ["TenantBudget", "budget_for", "pause", "paused_for", "remember", "PAUSED_UNTIL",
           "RATE_LIMITS", "IN_FLIGHT", "MINUTE_WINDOW"]

IN_FLIGHT = 5
#: Xero's minute limit counts the calls of the last this many seconds.
MINUTE_WINDOW = 60.0
#: Added to a paced wait: Xero counts a call from its arrival, a little after we sent it.
PACING_MARGIN = 1.0
PAUSED_UNTIL = "paused_until"
RATE_LIMITS = "rate_limits"


@dataclass
class TenantBudget:
    """What Xero last told us about one organisation's remaining calls."""

    minute_remaining: int | None = None
    day_remaining: int | None = None
    app_minute_remaining: int | None = None
    calls: int = 0
    in_flight: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(IN_FLIGHT))
    #: when this process sent its last calls (monotonic seconds), newest last
    sent: deque = field(default_factory=lambda: deque(maxlen=60))

    def minute_wait(self, now: float | None = None) -> float:
        """Seconds to wait before the next call so it is not refused for the minute limit.

        Zero unless Xero's last answer said no call is left this minute; then until the oldest
        call this process remembers leaves Xero's window (a 429 refused call would cost one
        more call and the same wait). Calls made elsewhere are not seen here: a 429 can still
        come, and the client waits for its ``Retry-After`` then.
        """
        if self.minute_remaining is None or self.minute_remaining > 0 or not self.sent:
            return 0.0
        now = time.monotonic() if now is None else now
        left = self.sent[0] + MINUTE_WINDOW - now
        return min(MINUTE_WINDOW, left + PACING_MARGIN) if left > 0 else 0.0

    def sending(self, now: float | None = None) -> None:
        """Note a call about to be sent."""
        self.calls += 1
        self.sent.append(time.monotonic() if now is None else now)

    def update(self, headers) -> None:
        """Take the remaining counts from an answer's headers."""
        for name, attr in (("x-minlimit-remaining", "minute_remaining"),
                           ("x-daylimit-remaining", "day_remaining"),
                           ("x-appminlimit-remaining", "app_minute_remaining")):
            value = headers.get(name)
            if value is not None and value.strip().lstrip("-").isdigit():
                setattr(self, attr, int(value))


_budgets: dict[str, TenantBudget] = {}
_lock = threading.Lock()


def budget_for(tenant_id: str) -> TenantBudget:
    """The process-wide budget of one Xero organisation."""
    with _lock:
        return _budgets.setdefault(tenant_id, TenantBudget())


def paused_for(connection: Connection) -> float | None:
    """Seconds this connection stays paused after a day limit, or None."""
    until = connection.state.get(PAUSED_UNTIL)
    if not until:
        return None
    left = (dt.datetime.fromisoformat(until) - connection.now()).total_seconds()
    return left if left > 0 else None


def pause(connection: Connection, seconds: float) -> None:
    """Pause this connection (not the others) until Xero's day window has room again."""
    until = connection.now() + dt.timedelta(seconds=seconds)
    connection.state.set(PAUSED_UNTIL, until.isoformat())


def remember(connection: Connection, budget: TenantBudget) -> None:
    """Keep the last counts Xero reported in the connection's state (for status displays and
    for workers in other processes)."""
    connection.state.set(RATE_LIMITS, {
        "minute_remaining": budget.minute_remaining, "day_remaining": budget.day_remaining,
        "app_minute_remaining": budget.app_minute_remaining,
        "at": connection.now().isoformat()})
