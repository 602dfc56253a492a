"""Keeping under Intuit's throttles before they answer 429, per company (realm).

Intuit allows per realm 500 requests a minute, 10 a second and 40 batch requests a minute,
and advises waiting 60 s after a 429, so every refused call costs a minute. The pacer keeps a
rolling record of this process's calls and waits, *by the connection's clock*, until a call
fits. Waiting by the connection's clock lets a sped-up sandbox clock pace a benchmark; a clock
that does not move (a frozen test clock) turns pacing off rather than waiting forever, and the
429 handling in :mod:`.client` is then what keeps the limits.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import datetime as dt

__all__ = ["Pacer", "pacer_for", "PER_MINUTE", "PER_SECOND", "BATCH_PER_MINUTE"]

PER_MINUTE = 500
PER_SECOND = 10
BATCH_PER_MINUTE = 40
#: real seconds slept per step while waiting for the connection's clock to move on
STEP = 0.02


@dataclass
class Pacer:
    """Rolling windows of one realm's calls from this process."""

    minute: deque[float] = field(default_factory=deque)
    second: deque[float] = field(default_factory=deque)
    batches: deque[float] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _wait_needed(self, now: float, batch: bool) -> float:
        for window, span in ((self.minute, 60.0), (self.second, 1.0), (self.batches, 60.0)):
            while window and window[0] <= now - span:
                window.popleft()
        waits = [0.0]
        if len(self.minute) >= PER_MINUTE:
            waits.append(self.minute[0] + 60.0 - now)
        if len(self.second) >= PER_SECOND:
            waits.append(self.second[0] + 1.0 - now)
        if batch and len(self.batches) >= BATCH_PER_MINUTE:
            waits.append(self.batches[0] + 60.0 - now)
        return max(waits)

    def admit(self, clock: Callable[[], dt.datetime], batch: bool) -> None:
        """Wait until one more call (a batch call if ``batch``) fits, then count it."""
        while True:
            with self.lock:
                now = clock().timestamp()
                wait = self._wait_needed(now, batch)
                if wait <= 0:
                    self.minute.append(now)
                    self.second.append(now)
                    if batch:
                        self.batches.append(now)
                    return
            time.sleep(min(STEP, wait))
            if clock().timestamp() == now:
                return  # a frozen clock: the server's 429s pace us instead


_pacers: dict[str, Pacer] = {}
_lock = threading.Lock()


def pacer_for(realm: str) -> Pacer:
    """The process-wide pacer of one company."""
    with _lock:
        return _pacers.setdefault(realm, Pacer())
