"""Slowing down password guessing from one client, whatever usernames it tries.

The per-user lock (:func:`hub.access.users.authenticate`) stops guessing one account; this
limits one client address spraying many names: after :data:`MAX_FAILURES` failed logins
within :data:`WINDOW`, that address is refused until its oldest failure leaves the window.
The failures are kept in the database (:class:`hub.db.models.access.LoginFailure`), so every
web process of a hub counts the same ones: a guesser spread over several replicas, or one that
lands on whichever process answers, gets no more tries than against one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine

from hub.db.models.access import LoginFailure

__all__ = ["ClientThrottle", "MAX_FAILURES", "WINDOW"]

#: Failed logins one client address may make within :data:`WINDOW`.
MAX_FAILURES = 20
WINDOW = dt.timedelta(minutes=10)

_TABLE = LoginFailure.__table__


class ClientThrottle:
    """Counts failed logins per client address in a sliding window, in the hub's database."""

    def __init__(self, engine: Engine, max_failures: int = MAX_FAILURES,
                 window: dt.timedelta = WINDOW) -> None:
        self.engine, self.max_failures, self.window = engine, max_failures, window

    def retry_after(self, client: str, now: dt.datetime) -> int | None:
        """Seconds ``client`` must wait before trying again, or None when it may try now."""
        with self.engine.connect() as conn:
            count, oldest = conn.execute(
                select(func.count(), func.min(_TABLE.c.at)).where(
                    _TABLE.c.client == client, _TABLE.c.at > now - self.window)).one()
        if count < self.max_failures:
            return None
        if oldest.tzinfo is None:  # SQLite gives back the UTC time without its zone
            oldest = oldest.replace(tzinfo=dt.timezone.utc)
        return max(1, int((oldest + self.window - now).total_seconds() + 0.999))

    def failed(self, client: str, now: dt.datetime) -> None:
        """Count a failed login from ``client``; failures older than the window are dropped
        (no memory kept for quiet clients)."""
        with self.engine.begin() as conn:
            conn.execute(delete(_TABLE).where(_TABLE.c.at <= now - self.window))
            conn.execute(insert(_TABLE).values(client=client[:100], at=now))
