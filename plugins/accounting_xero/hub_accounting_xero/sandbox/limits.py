"""Xero's per-organisation rate limits: 60 calls a minute, 5 in flight, 5,000 a day, and
10,000 a minute for the whole app. Windows are rolling; a refused call is not counted."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field

from hub.testing.scaled_clock import ScaledClock

__all__ = ["Limits", "RateLimiter", "Refusal"]

MINUTE = 60.0
DAY = 86_400.0


@dataclass(frozen=True)
class Limits:
    """The ceilings the sandbox enforces (Xero's published defaults)."""

    per_minute: int = 60
    per_day: int = 5_000
    in_flight: int = 5
    app_per_minute: int = 10_000


@dataclass(frozen=True)
class Refusal:
    """Why a call was refused: ``problem`` as in X-Rate-Limit-Problem, wait in real seconds."""

    problem: str
    retry_after: int


@dataclass
class _Tenant:
    minute: deque[float] = field(default_factory=deque)
    day: deque[float] = field(default_factory=deque)
    in_flight: int = 0


class RateLimiter:
    """Counts calls per tenant on the sandbox clock and produces Xero's headers."""

    def __init__(self, clock: ScaledClock, limits: Limits | None = None) -> None:
        self.clock = clock
        self.limits = limits or Limits()
        self._tenants: dict[str, _Tenant] = {}
        self._app: deque[float] = deque()
        self._lock = threading.Lock()

    @staticmethod
    def _trim(window: deque[float], now: float, span: float) -> None:
        while window and window[0] <= now - span:
            window.popleft()

    def _wait(self, window: deque[float], now: float, span: float) -> int:
        simulated = window[0] + span - now
        return max(1, math.ceil(self.clock.to_real(simulated)))

    def acquire(self, tenant: str) -> Refusal | None:
        """Admit one call for ``tenant`` (then :meth:`release` it) or say why not."""
        now = self.clock.seconds()
        with self._lock:
            t = self._tenants.setdefault(tenant, _Tenant())
            for window, span in ((t.minute, MINUTE), (t.day, DAY), (self._app, MINUTE)):
                self._trim(window, now, span)
            if t.in_flight >= self.limits.in_flight:
                return Refusal("concurrent", 1)
            if len(t.day) >= self.limits.per_day:
                return Refusal("day", self._wait(t.day, now, DAY))
            if len(t.minute) >= self.limits.per_minute:
                return Refusal("minute", self._wait(t.minute, now, MINUTE))
            if len(self._app) >= self.limits.app_per_minute:
                return Refusal("appminute", self._wait(self._app, now, MINUTE))
            t.minute.append(now)
            t.day.append(now)
            self._app.append(now)
            t.in_flight += 1
            return None

    def release(self, tenant: str) -> None:
        """The call admitted by :meth:`acquire` has finished."""
        with self._lock:
            self._tenants[tenant].in_flight -= 1

    def headers(self, tenant: str) -> dict[str, str]:
        """X-MinLimit-Remaining, X-DayLimit-Remaining and X-AppMinLimit-Remaining."""
        now = self.clock.seconds()
        with self._lock:
            t = self._tenants.setdefault(tenant, _Tenant())
            self._trim(t.minute, now, MINUTE)
            self._trim(t.day, now, DAY)
            self._trim(self._app, now, MINUTE)
            return {
                "X-MinLimit-Remaining": str(max(0, self.limits.per_minute - len(t.minute))),
                "X-DayLimit-Remaining": str(max(0, self.limits.per_day - len(t.day))),
                "X-AppMinLimit-Remaining": str(max(0, self.limits.app_per_minute - len(self._app))),
            }
