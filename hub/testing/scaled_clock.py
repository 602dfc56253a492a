"""A vendor sandbox's clock: real time, optionally sped up, and advanceable by tests.

``scale=60`` makes one real second a vendor minute, so per-minute limits, token lifetimes and
the vendor's memory of idempotency keys (Xero) or request ids (QuickBooks) can be exercised in
a fast test or benchmark. (:class:`hub.testing.FrozenClock` is the other kind: time moves only
when the test says so.)
"""

from __future__ import annotations

import datetime as dt
import threading
import time

__all__ = ["ScaledClock"]


class ScaledClock:
    """Simulated seconds since start = real seconds x ``scale`` + whatever tests advanced."""

    def __init__(self, scale: float = 1.0, start: dt.datetime | None = None) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.scale = scale
        self._real0 = time.monotonic()
        self._start = start or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self._offset = 0.0
        self._lock = threading.Lock()

    def seconds(self) -> float:
        """Simulated seconds since the sandbox started."""
        with self._lock:
            return (time.monotonic() - self._real0) * self.scale + self._offset

    def now(self) -> dt.datetime:
        """Simulated aware UTC time."""
        return self._start + dt.timedelta(seconds=self.seconds())

    def advance(self, seconds: float) -> None:
        """Jump the simulated time forward (token expiry, forgotten idempotency keys)."""
        with self._lock:
            self._offset += seconds

    def to_real(self, simulated_seconds: float) -> float:
        """Real seconds that ``simulated_seconds`` take at this scale."""
        return simulated_seconds / self.scale
