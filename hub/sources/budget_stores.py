"""Where rate budgets are counted: in this process, or in Redis for every process at once.

Both stores keep, per budget key, the slots in use (leases that run out) and one sliding log of
call times per window. ``try_acquire`` answers ``(0, "")`` (admitted: a slot is held and the call
is counted in every window), ``(-1, "slot")`` (every slot busy) or the seconds until a window has
room or a pause ends, with the window's name or ``"pause"``.

Why Redis primitives rather than ``limits``' Redis storage: ``limits`` paces windows of whole
seconds and has no concurrency cap, and a call must take its slot *and* its place in every window
in one atomic step (else a worker could take a window place it cannot use while another holds
the slot). One Lua script does all of it in one round trip, on Redis' own clock (``TIME``), so
workers on machines with skewed clocks still count in the same time line.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Window", "BudgetStore", "MemoryBudgetStore", "RedisBudgetStore"]


@dataclass(frozen=True)
class Window:
    """At most ``calls`` in any ``seconds`` (sliding); ``name`` is second, minute, hour or day."""

    name: str
    calls: int
    seconds: float


class BudgetStore(Protocol):
    """What a budget needs from its store (see the module docstring)."""

    def register(self, key: str, limits: Any, windows: tuple[Window, ...]) -> None: ...

    def try_acquire(self, key: str, holder: str, lease_seconds: float, in_flight: int | None,
                    windows: tuple[Window, ...]) -> tuple[float, str]: ...

    def release(self, key: str, holder: str) -> None: ...

    def match_remaining(self, key: str, window: Window, remaining: int) -> None: ...

    def pause(self, key: str, seconds: float) -> None: ...

    def snapshot(self, key: str) -> dict[str, Any]: ...

    def keys(self) -> list[str]: ...


def _describe(key: str, limits: Any, windows: tuple[Window, ...]) -> dict[str, Any]:
    return {"key": key, "in_flight_limit": getattr(limits, "in_flight", None),
            "windows": [[w.name, w.calls, w.seconds] for w in windows]}


@dataclass
class _Account:
    description: dict[str, Any]
    slots: dict[str, float] = field(default_factory=dict)
    logs: dict[str, list[float]] = field(default_factory=dict)
    paused_until: float = 0.0


class MemoryBudgetStore:
    """Budgets of this process only (the embedded defaults run one process)."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self._accounts: dict[str, _Account] = {}
        self._lock = threading.Lock()

    def _account(self, key: str) -> _Account:
        return self._accounts.setdefault(key, _Account({"key": key}))

    def register(self, key: str, limits: Any, windows: tuple[Window, ...]) -> None:
        with self._lock:
            self._account(key).description = _describe(key, limits, windows)

    def try_acquire(self, key: str, holder: str, lease_seconds: float, in_flight: int | None,
                    windows: tuple[Window, ...]) -> tuple[float, str]:
        with self._lock:
            now = self.clock()
            acc = self._account(key)
            if acc.paused_until > now:
                return acc.paused_until - now, "pause"
            acc.slots = {h: until for h, until in acc.slots.items() if until > now}
            if in_flight and len(acc.slots) >= in_flight:
                return -1.0, "slot"
            for win in windows:
                log = acc.logs.setdefault(win.name, [])
                log[:] = [t for t in log if t > now - win.seconds]
                if len(log) >= win.calls:
                    return max(log[0] + win.seconds - now, 0.001), win.name
            for win in windows:
                acc.logs[win.name].append(now)
            if in_flight:
                acc.slots[holder] = now + lease_seconds
            return 0.0, ""

    def release(self, key: str, holder: str) -> None:
        with self._lock:
            self._account(key).slots.pop(holder, None)

    def match_remaining(self, key: str, window: Window, remaining: int) -> None:
        with self._lock:
            now = self.clock()
            log = self._account(key).logs.setdefault(window.name, [])
            log[:] = [t for t in log if t > now - window.seconds]
            missing = (window.calls - len(log)) - max(remaining, 0)
            log.extend([now] * max(missing, 0))

    def pause(self, key: str, seconds: float) -> None:
        with self._lock:
            acc = self._account(key)
            acc.paused_until = max(acc.paused_until, self.clock() + seconds)

    def snapshot(self, key: str) -> dict[str, Any]:
        with self._lock:
            now = self.clock()
            acc = self._account(key)
            windows = {}
            for name, calls, seconds in acc.description.get("windows", []):
                used = len([t for t in acc.logs.get(name, []) if t > now - seconds])
                windows[name] = {"used": used, "limit": calls}
            return {"key": key, "in_flight": len([u for u in acc.slots.values() if u > now]),
                    "in_flight_limit": acc.description.get("in_flight_limit"),
                    "windows": windows,
                    "paused_seconds": round(max(acc.paused_until - now, 0.0), 3)}

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._accounts)


_ACQUIRE = """
-- KEYS: slots, pause, then one log per window; ARGV: holder, lease, in_flight (0: none),
-- then limit and seconds of each window, then each window's name
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return 'pause:' .. tostring(paused - now) end
local cap = tonumber(ARGV[3])
if cap > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('ZCARD', KEYS[1]) >= cap then return 'slot:-1' end
end
for i = 3, #KEYS do
  local limit = tonumber(ARGV[2 * i - 2])
  local span = tonumber(ARGV[2 * i - 1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - span)
  if redis.call('ZCARD', KEYS[i]) >= limit then
    local first = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    return ARGV[2 * #KEYS - 3 + i] .. ':' .. tostring(math.max(tonumber(first[2]) + span - now, 0.001))
  end
end
for i = 3, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], math.ceil(tonumber(ARGV[2 * i - 1]) * 1000) + 1000)
end
if cap > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000) + 1000)
end
return ':0'
"""

_MATCH = """
-- KEYS: one window log; ARGV: limit, seconds, vendor's remaining, a unique prefix
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
local missing = (tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])) - math.max(tonumber(ARGV[3]), 0)
for i = 1, missing do redis.call('ZADD', KEYS[1], now, ARGV[4] .. i) end
if missing > 0 then
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000) + 1000)
end
return missing
"""

_PAUSE = """
local t = redis.call('TIME')
local until_ = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""

_SNAPSHOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local out = {tostring(redis.call('ZCOUNT', KEYS[1], now, '+inf')),
             tostring(math.max(tonumber(redis.call('GET', KEYS[2]) or '0') - now, 0))}
for i = 3, #KEYS do
  table.insert(out, tostring(redis.call('ZCOUNT', KEYS[i], now - tonumber(ARGV[i - 2]), '+inf')))
end
return out
"""


class RedisBudgetStore:
    """Budgets shared by every process that talks to one Redis (see the module docstring)."""

    def __init__(self, client: Any, namespace: str = "hub") -> None:
        self.client = client
        self.prefix = f"{namespace}:budget"
        self._acquire = client.register_script(_ACQUIRE)
        self._match = client.register_script(_MATCH)
        self._pause = client.register_script(_PAUSE)
        self._snapshot = client.register_script(_SNAPSHOT)
        self._uid = 0
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, namespace: str = "hub") -> "RedisBudgetStore":
        """A store on the Redis at ``url``."""
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=10), namespace)

    def _keys(self, key: str, windows: tuple[Window, ...]) -> list[str]:
        base = f"{self.prefix}:{key}"
        return [f"{base}:slots", f"{base}:pause", *(f"{base}:log:{w.name}" for w in windows)]

    def register(self, key: str, limits: Any, windows: tuple[Window, ...]) -> None:
        self.client.hset(f"{self.prefix}s", key, json.dumps(_describe(key, limits, windows)))

    def try_acquire(self, key: str, holder: str, lease_seconds: float, in_flight: int | None,
                    windows: tuple[Window, ...]) -> tuple[float, str]:
        args: list[Any] = [holder, lease_seconds, in_flight or 0]
        for win in windows:
            args += [win.calls, win.seconds]
        args += [win.name for win in windows]
        answer = self._acquire(keys=self._keys(key, windows), args=args)
        reason, _, wait = (answer.decode() if isinstance(answer, bytes) else answer).partition(":")
        return float(wait), reason

    def release(self, key: str, holder: str) -> None:
        self.client.zrem(f"{self.prefix}:{key}:slots", holder)

    def match_remaining(self, key: str, window: Window, remaining: int) -> None:
        with self._lock:
            self._uid += 1
            prefix = f"vendor:{id(self)}:{self._uid}:{time.time()}:"
        self._match(keys=[f"{self.prefix}:{key}:log:{window.name}"],
                    args=[window.calls, window.seconds, remaining, prefix])

    def pause(self, key: str, seconds: float) -> None:
        self._pause(keys=[f"{self.prefix}:{key}:pause"], args=[seconds])

    def snapshot(self, key: str) -> dict[str, Any]:
        raw = self.client.hget(f"{self.prefix}s", key)
        description = json.loads(raw) if raw else {"key": key, "windows": []}
        windows = [w for w in description.get("windows", [])]
        keys = [f"{self.prefix}:{key}:slots", f"{self.prefix}:{key}:pause",
                *(f"{self.prefix}:{key}:log:{name}" for name, _, _ in windows)]
        out = self._snapshot(keys=keys, args=[seconds for _, _, seconds in windows])
        values = [float(v) for v in out]
        return {"key": key, "in_flight": int(values[0]),
                "in_flight_limit": description.get("in_flight_limit"),
                "windows": {name: {"used": int(used), "limit": calls}
                            for (name, calls, _), used in zip(windows, values[2:])},
                "paused_seconds": round(values[1], 3)}

    def keys(self) -> list[str]:
        return sorted(k.decode() if isinstance(k, bytes) else k
                      for k in self.client.hkeys(f"{self.prefix}s"))
