"""Per-organisation rate limits: the hub's shared budgets plus Xero's response headers.

Xero allows 60 calls a minute, 5 in flight and 5,000 a day per connected organisation, and
10,000 a minute per app. :func:`tenant_budget` and :func:`app_budget` are the hub's shared
budgets (:func:`hub.rate_budget`: one per organisation and one per app for every worker, in Redis
on a production hub), which pace calls before Xero refuses them. The remaining counts arrive on
every answer (``X-MinLimit-Remaining``, ``X-DayLimit-Remaining``, ``X-AppMinLimit-Remaining``);
they feed the budgets and are kept for status displays. A day limit reached pauses that
connection only, through ``connection.state`` so every worker sees it.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

from hub import BudgetLimits, Connection, RateBudget, rate_budget

__all__ = ["TenantBudget", "budget_for", "pause", "paused_for", "remember", "PAUSED_UNTIL",
           "RATE_LIMITS", "IN_FLIGHT", "TENANT_LIMITS", "APP_LIMITS", "tenant_budget",
           "app_budget", "remaining_of"]

IN_FLIGHT = 5
#: Xero's published limits per organisation and per app.
TENANT_LIMITS = BudgetLimits(in_flight=IN_FLIGHT, per_minute=60, per_day=5_000)
APP_LIMITS = BudgetLimits(per_minute=10_000)
PAUSED_UNTIL = "paused_until"
RATE_LIMITS = "rate_limits"


def tenant_budget(connection: Connection, tenant_id: str, timeout: float) -> RateBudget:
    """The shared budget of organisation ``tenant_id`` (every connection and worker)."""
    limits = BudgetLimits(**{**TENANT_LIMITS.__dict__, "call_timeout_seconds": timeout})
    return rate_budget(connection, tenant_id, limits, kind="xero")


def app_budget(connection: Connection, client_id: str) -> RateBudget:
    """The shared per-minute budget of the Xero app ``client_id``."""
    return rate_budget(connection, client_id, APP_LIMITS, kind="xero-app")


def remaining_of(headers) -> dict[str, int]:
    """Xero's remaining counts by budget window, from an answer's headers."""
    found = {}
    for name, window in (("x-minlimit-remaining", "minute"), ("x-daylimit-remaining", "day")):
        value = headers.get(name)
        if value is not None and value.strip().isdigit():
            found[window] = int(value)
    return found


@dataclass
class TenantBudget:
    """What Xero last told us about one organisation's remaining calls."""

    minute_remaining: int | None = None
    day_remaining: int | None = None
    app_minute_remaining: int | None = None
    calls: int = 0

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
    """This process's record of what Xero last said about one organisation."""
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
