"""Intuit's throttles per company (realm): 500 requests a minute, 10 a second, 40 batch
requests a minute. Windows are rolling on the sandbox clock; a refused request is not counted."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field

from hub.testing.scaled_clock import ScaledClock

__all__ = ["Limits", "RateLimiter"]


@dataclass(frozen=True)
class Limits:
    """The ceilings the sandbox enforces (Intuit's published values)."""

    per_minute: int = 500
    per_second: int = 10
    batch_per_minute: int = 40


@dataclass
class _Realm:
    minute: deque[float] = field(default_factory=deque)
    second: deque[float] = field(default_factory=deque)
    batches: deque[float] = field(default_factory=deque)


class RateLimiter:
    """Counts requests per realm on the sandbox clock."""

    def __init__(self, clock: ScaledClock, limits: Limits | None = None) -> None:
        self.clock = clock
        self.limits = limits or Limits()
        self._realms: dict[str, _Realm] = {}
        self._lock = threading.Lock()

    def acquire(self, realm: str, batch: bool) -> int | None:
        """Admit one request, or return the real seconds until it would fit."""
        now = self.clock.seconds()
        with self._lock:
            r = self._realms.setdefault(realm, _Realm())
            checks = [(r.minute, 60.0, self.limits.per_minute),
                      (r.second, 1.0, self.limits.per_second)]
            if batch:
                checks.append((r.batches, 60.0, self.limits.batch_per_minute))
            for window, span, _ in checks:
                while window and window[0] <= now - span:
                    window.popleft()
            waits = [window[0] + span - now for window, span, ceiling in checks
                     if len(window) >= ceiling]
            if waits:
                return max(1, math.ceil(self.clock.to_real(max(waits))))
            r.minute.append(now)
            r.second.append(now)
            if batch:
                r.batches.append(now)
            return None
