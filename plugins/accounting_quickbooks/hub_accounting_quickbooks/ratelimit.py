"""Intuit's throttles per company (realm) as the hub's shared rate budgets.

Intuit allows per realm 500 requests a minute, 10 at once (and so about 10 a second) and 40
batch requests a minute, and advises waiting 60 s after a 429, so every refused call costs a
minute. :func:`realm_budget` and :func:`batch_budget` are :func:`hub.rate_budget` budgets: one
per company for every worker of the hub (in Redis on a production hub), paced before Intuit
refuses, and paused for every worker by a 429's ``Retry-After``. ``rate_time_scale`` on a
connection to a sandbox whose clock runs faster shortens the windows to match.
"""

from __future__ import annotations

from hub import BudgetLimits, Connection, RateBudget, rate_budget

__all__ = ["realm_budget", "batch_budget", "REALM_LIMITS", "BATCH_LIMITS"]

#: Intuit's published limits per company: requests a minute, at once, and a second.
REALM_LIMITS = BudgetLimits(in_flight=10, per_second=10, per_minute=500)
#: ... and batch requests a minute, counted on top of the requests they are.
BATCH_LIMITS = BudgetLimits(per_minute=40)


def realm_budget(connection: Connection, realm: str, timeout: float) -> RateBudget:
    """The shared budget of every request to company ``realm``."""
    limits = BudgetLimits(**{**REALM_LIMITS.__dict__, "call_timeout_seconds": timeout})
    return rate_budget(connection, realm, limits, kind="quickbooks")


def batch_budget(connection: Connection, realm: str) -> RateBudget:
    """The shared budget of batch requests to company ``realm``."""
    return rate_budget(connection, realm, BATCH_LIMITS, kind="quickbooks-batch")
