"""Per-organisation rate-limit bookkeeping from Xero's response headers.

Xero allows 60 calls a minute, 5 in flight and 5,000 a day per connected organisation. The
remaining counts arrive on every answer (``X-MinLimit-Remaining``, ``X-DayLimit-Remaining``,
``X-AppMinLimit-Remaining``). In-flight calls are bounded per process by a semaphore; a day
limit reached pauses that connection only, through ``connection.state`` so every worker sees it.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

from hub import Connection

__all__ = ["TenantBudget", "budget_for", "pause", "paused_for", "remember", "PAUSED_UNTIL",
           "RATE_LIMITS", "IN_FLIGHT"]

IN_FLIGHT = 5
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
