"""Slowing down password guessing from one client, whatever usernames it tries.

The per-user lock (:func:`hub.access.users.authenticate`) stops guessing one account; this
limits one client address spraying many names: after :data:`MAX_FAILURES` failed logins
within :data:`WINDOW`, that address is refused until its oldest failure leaves the window.
It lives in the web process's memory (each replica counts its own clients), which is enough to
make guessing slow; the per-user lock is the one kept in the database.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict, deque

__all__ = ["ClientThrottle", "MAX_FAILURES", "WINDOW"]

#: Failed logins one client address may make within :data:`WINDOW`.
MAX_FAILURES = 20
WINDOW = dt.timedelta(minutes=10)


class ClientThrottle:
    """Counts failed logins per client address in a sliding window."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: dt.timedelta = WINDOW) -> None:
        self.max_failures, self.window = max_failures, window
        self._failures: dict[str, deque[dt.datetime]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, client: str, now: dt.datetime) -> deque[dt.datetime]:
        times = self._failures[client]
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def retry_after(self, client: str, now: dt.datetime) -> int | None:
        """Seconds ``client`` must wait before trying again, or None when it may try now."""
        with self._lock:
            times = self._trim(client, now)
            if len(times) < self.max_failures:
                if not times:
                    self._failures.pop(client, None)  # no memory kept for quiet clients
                return None
            return max(1, int((times[0] + self.window - now).total_seconds() + 0.999))

    def failed(self, client: str, now: dt.datetime) -> None:
        """Count a failed login from ``client``."""
        with self._lock:
            self._trim(client, now).append(now)
