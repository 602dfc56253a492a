"""A controllable clock for tests: time moves only when the test says so."""

from __future__ import annotations

import datetime as dt
import threading

__all__ = ["FrozenClock"]


class FrozenClock:
    """Callable returning an aware UTC datetime; ``advance`` and ``set`` move it."""

    def __init__(self, start: dt.datetime | str = "2026-01-01T09:00:00+00:00") -> None:
        self._lock = threading.Lock()
        self._now = self._coerce(start)

    @staticmethod
    def _coerce(value: dt.datetime | str) -> dt.datetime:
        when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        if when.tzinfo is None:
            raise ValueError("give the clock an aware datetime (with a UTC offset)")
        return when.astimezone(dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    def set(self, when: dt.datetime | str) -> None:
        """Jump to ``when``."""
        with self._lock:
            self._now = self._coerce(when)

    def advance(self, **delta: float) -> dt.datetime:
        """Move forward by ``timedelta(**delta)``; returns the new time."""
        with self._lock:
            self._now += dt.timedelta(**delta)
            return self._now

    def today(self) -> dt.date:
        """The clock's date."""
        return self().date()
