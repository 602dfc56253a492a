"""Shared rate budgets: one budget per vendor account, however many workers call it.

Public API for plugins (re-exported by :mod:`hub`). A vendor counts calls per *account* (a Xero
organisation, a QuickBooks realm, an Autotask database, a NinjaOne client), not per process, so
four workers must share one budget. A plugin asks for its account's budget and wraps each call::

    from hub import BudgetLimits, rate_budget

    budget = rate_budget(connection, account=tenant_id,
                         limits=BudgetLimits(in_flight=5, per_minute=60, per_day=5000))
    with budget.call() as call:             # waits for a slot and room in every window
        response = http.request(...)
        call.answered(response.status_code,
                      remaining={"minute": int(response.headers["X-MinLimit-Remaining"])},
                      retry_after=float(response.headers.get("Retry-After", 0)) or None)

What a budget does:

- **concurrency cap** (``in_flight``): at most that many calls of the account at once, across
  processes; a slot is a lease that runs out if its worker dies mid-call;
- **windows paced in advance** (``per_second``/``per_minute``/``per_hour``/``per_day``): a call waits until the
  sliding window has room, instead of being refused by the vendor;
- **the vendor's remaining counts** (``call.answered(remaining=...)``): when the vendor says fewer
  calls are left than we counted (another app uses the same account), the window is filled up to
  match, so pacing follows the vendor's own figure;
- **Retry-After** (``call.answered(429, retry_after=...)`` or :meth:`RateBudget.hold_off`): every
  worker waits that long before its next call of the account.

Where budgets live: in Redis when the hub runs on Redis (``HUB_BROKER_URL=redis://...``, see
:func:`configure_budgets`), else in this process (the embedded defaults: one process). Budgets
are keyed by ``<connection type>:<account>``, so two connections to one Xero organisation share
one budget. ``hub status`` lists them (:func:`budget_snapshots`). ``rate_time_scale`` on a
connection (local sandboxes whose clock runs faster only) shortens every window by that factor.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from hub.errors import TransientError
from hub.observe.counters import count_vendor_call
from hub.sources.budget_stores import BudgetStore, MemoryBudgetStore, RedisBudgetStore, Window

if TYPE_CHECKING:
    from hub.contract.connections import Connection

__all__ = ["BudgetLimits", "BudgetExhausted", "RateBudget", "BudgetCall", "rate_budget", "configure_budgets",
           "budget_snapshots", "budget_store", "PACING_MARGIN"]

#: Windows are paced this much longer than the vendor's (2%): a call reaches the vendor a few
#: milliseconds after we counted it, and that jitter must never fit one call too many into the
#: vendor's own window.
PACING_MARGIN = 0.02
#: How long a busy slot is polled again (seconds, jittered so workers do not wake together).
SLOT_POLL_SECONDS = 0.01
#: A slot is held at most this long past the call's timeout (a worker that died mid-call).
LEASE_MARGIN_SECONDS = 5.0
#: Never wait in one piece longer than this: a budget paused by another worker may be resumed.
MAX_SLEEP_SECONDS = 1.0

_WINDOW_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86_400.0}


class BudgetExhausted(TransientError):
    """A budget has no room for longer than a call may wait; ``window`` says which limit
    (``second``/``minute``/``hour``/``day``, or ``pause`` after a Retry-After). Retried after
    ``retry_after`` like any transient failure."""

    def __init__(self, message: str, *, retry_after: float, window: str) -> None:
        super().__init__(message, retry_after=retry_after,
                         hint="the job is retried when the vendor's window opens")
        self.window = window


@dataclass(frozen=True)
class BudgetLimits:
    """A vendor account's limits; ``None`` means the vendor sets no such limit."""

    in_flight: int | None = None
    per_second: int | None = None
    per_minute: int | None = None
    per_hour: int | None = None
    per_day: int | None = None
    #: the longest a call may take (its slot's lease runs out this long after it started)
    call_timeout_seconds: float = 60.0
    #: a call waits at most this long for room; longer, the job is handed back to the queue
    max_wait_seconds: float = 65.0

    def windows(self, scale: float = 1.0) -> tuple[Window, ...]:
        """The sliding windows to pace, ``scale`` times shorter (sandboxes), with the margin."""
        result = []
        for name, seconds in _WINDOW_SECONDS.items():
            calls = getattr(self, f"per_{name}")
            if calls:
                result.append(Window(name, int(calls), seconds * (1 + PACING_MARGIN) / scale))
        return tuple(result)


@dataclass
class BudgetCall:
    """One admitted call; tell it what the vendor answered (see :meth:`answered`)."""

    budget: "RateBudget"
    status: int | None = None

    def answered(self, status: int, *, remaining: Mapping[str, int | None] | None = None,
                 retry_after: float | None = None) -> None:
        """Record the vendor's answer: ``remaining`` maps ``minute``/``hour``/``day`` to the
        vendor's remaining-calls figure; a 429 with ``retry_after`` holds every worker off."""
        self.status = status
        budget = self.budget
        count_vendor_call(budget.connection_name, status)
        for name, left in (remaining or {}).items():
            if left is not None:
                budget.observe(name, int(left))
        if status == 429:
            budget.hold_off(retry_after if retry_after is not None else 1.0)


@dataclass
class RateBudget:
    """The budget of one vendor account (see the module docstring)."""

    key: str
    limits: BudgetLimits
    store: BudgetStore
    connection_name: str = ""
    scale: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    _windows: tuple[Window, ...] = field(init=False)

    def __post_init__(self) -> None:
        self._windows = self.limits.windows(self.scale)
        self.store.register(self.key, self.limits, self._windows)

    def acquire(self) -> str:
        """Wait for a slot and room in every window; returns the lease to :meth:`release`.

        A wait longer than ``limits.max_wait_seconds`` (a day window full, a long Retry-After)
        is not slept through: :class:`~hub.errors.TransientError` with ``retry_after`` hands the
        job back to the queue instead of holding a worker thread.
        """
        holder = uuid.uuid4().hex
        lease = self.limits.call_timeout_seconds + LEASE_MARGIN_SECONDS
        while True:
            wait, reason = self.store.try_acquire(self.key, holder, lease,
                                                  self.limits.in_flight, self._windows)
            if wait == 0:
                return holder
            if wait > self.limits.max_wait_seconds:
                raise BudgetExhausted(
                    f"rate budget {self.key}: no room for {wait:.0f} s ({reason})",
                    retry_after=wait, window=reason)
            if wait < 0:  # every slot busy: poll again shortly
                wait = SLOT_POLL_SECONDS * (1 + random.random())
            self.sleep(min(wait, MAX_SLEEP_SECONDS))

    def release(self, holder: str) -> None:
        """Give the slot of ``holder`` back."""
        self.store.release(self.key, holder)

    @contextmanager
    def call(self) -> Iterator[BudgetCall]:
        """Hold a slot for one call (waiting as needed); tell the yielded call the answer."""
        holder = self.acquire()
        try:
            yield BudgetCall(self)
        finally:
            self.release(holder)

    def observe(self, window: str, remaining: int) -> None:
        """The vendor says ``remaining`` calls are left in its ``window`` (second, minute...)."""
        for win in self._windows:
            if win.name == window:
                self.store.match_remaining(self.key, win, remaining)

    def hold_off(self, seconds: float) -> None:
        """No worker calls this account for ``seconds`` (a 429's Retry-After, real seconds)."""
        self.store.pause(self.key, max(0.0, float(seconds)))

    def snapshot(self) -> dict[str, Any]:
        """In flight, calls in each window against its limit, and the pause left."""
        return self.store.snapshot(self.key)


class _Registry:
    """Where this process's budgets live (configured once per process at start)."""

    def __init__(self) -> None:
        self.store: BudgetStore = MemoryBudgetStore()
        self.lock = threading.Lock()
        self.url: str | None = None


_registry = _Registry()


def configure_budgets(redis_url: str | None, namespace: str = "hub") -> BudgetStore:
    """Keep budgets in Redis at ``redis_url`` (shared by every process of the hub), or in this
    process when ``None``. Called by each process at start; returns the store."""
    with _registry.lock:
        if redis_url:
            _registry.store = RedisBudgetStore.from_url(redis_url, namespace)
        else:
            _registry.store = MemoryBudgetStore()
        _registry.url = redis_url
        return _registry.store


def budget_store() -> BudgetStore:
    """The store this process's budgets use."""
    return _registry.store


def rate_budget(connection: "Connection", account: str, limits: BudgetLimits, *,
                kind: str | None = None) -> RateBudget:
    """The shared budget of ``account`` at ``connection``'s vendor.

    ``account`` is what the vendor counts calls by (tenant id, realm id, database); ``kind``
    defaults to the connection type, so budgets of two vendors never mix.
    """
    config = getattr(connection, "config", None)
    scale = float(getattr(config, "rate_time_scale", 1.0) or 1.0)
    return RateBudget(key=f"{kind or connection.plugin}:{account}", limits=limits,
                      store=_registry.store, connection_name=connection.name, scale=scale)


def budget_snapshots() -> list[dict[str, Any]]:
    """Every budget known to the store, for ``hub status``."""
    store = _registry.store
    return [store.snapshot(key) for key in store.keys()]
