"""The shared rate budget API (``hub.rate_budget``) on both stores: in process and Redis."""

from __future__ import annotations

import threading
import time

import pytest

from hub import BudgetExhausted, BudgetLimits, Connection, ConnectionConfig, rate_budget
from hub.sources.budget_stores import MemoryBudgetStore, RedisBudgetStore
from hub.sources.budgets import RateBudget, budget_snapshots, configure_budgets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _memory_budget(limits: BudgetLimits, clock: Clock) -> RateBudget:
    return RateBudget("test:acct", limits, MemoryBudgetStore(clock), sleep=clock.sleep)


def test_windows_are_paced_before_the_vendor_refuses():
    clock = Clock()
    budget = _memory_budget(BudgetLimits(per_minute=3), clock)
    starts = []
    for _ in range(7):
        with budget.call():
            starts.append(clock.now)
    # three calls, then the fourth waits for the window (60 s + the pacing margin)
    assert starts[:3] == [1000.0] * 3
    assert starts[3] == pytest.approx(1000.0 + 61.2)
    assert starts[6] == pytest.approx(1000.0 + 2 * 61.2)


def test_vendor_remaining_count_and_retry_after_bind_every_caller():
    clock = Clock()
    budget = _memory_budget(BudgetLimits(per_minute=60), clock)
    with budget.call() as call:
        call.answered(200, remaining={"minute": 0})  # another app used the rest
    assert budget.snapshot()["windows"]["minute"] == {"used": 60, "limit": 60}
    with budget.call():
        pass
    assert clock.now == pytest.approx(1000.0 + 61.2)
    with budget.call() as call:
        call.answered(429, retry_after=30)
    assert budget.snapshot()["paused_seconds"] == pytest.approx(30)
    before = clock.now
    with budget.call():
        pass
    assert clock.now >= before + 30


def test_a_wait_longer_than_allowed_hands_the_job_back():
    clock = Clock()
    budget = _memory_budget(BudgetLimits(per_day=1, max_wait_seconds=65), clock)
    with budget.call():
        pass
    with pytest.raises(BudgetExhausted) as refused:
        budget.acquire()
    assert refused.value.window == "day" and refused.value.retry_after > 80_000


def test_connections_to_one_account_share_one_budget_and_status_lists_it():
    configure_budgets(None)
    limits = BudgetLimits(in_flight=2, per_minute=100)
    a = rate_budget(Connection(name="a", plugin="xero", settings=None), "tenant-1", limits)
    b = rate_budget(Connection(name="b", plugin="xero", settings=None), "tenant-1", limits)
    holder = a.acquire()
    b.acquire()
    assert a.snapshot()["in_flight"] == 2
    [shown] = [s for s in budget_snapshots() if s["key"] == "xero:tenant-1"]
    assert shown["in_flight_limit"] == 2 and shown["windows"]["minute"]["used"] == 2
    a.release(holder)
    assert b.snapshot()["in_flight"] == 1


def test_rate_time_scale_shortens_the_windows_for_sandboxes():
    config = ConnectionConfig(name="x", plugin="xero", rate_time_scale=60)
    budget = rate_budget(Connection(name="x", plugin="xero", settings=None, config=config),
                         "t-scaled", BudgetLimits(per_minute=60))
    assert budget._windows[0].seconds == pytest.approx(1.02)


@pytest.mark.redis
def test_redis_budget_caps_calls_in_flight_across_threads(hub_redis_url, hub_redis_namespace):
    store = RedisBudgetStore.from_url(hub_redis_url, hub_redis_namespace)
    limits = BudgetLimits(in_flight=3, per_minute=1000)
    budgets = [RateBudget("xero:shared", limits, store) for _ in range(8)]  # 8 "workers"
    lock = threading.Lock()
    current, peak = [0], [0]

    def work(budget: RateBudget) -> None:
        for _ in range(5):
            with budget.call():
                with lock:
                    current[0] += 1
                    peak[0] = max(peak[0], current[0])
                time.sleep(0.01)
                with lock:
                    current[0] -= 1

    threads = [threading.Thread(target=work, args=(b,)) for b in budgets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert peak[0] == 3
    snap = store.snapshot("xero:shared")
    assert snap["in_flight"] == 0 and snap["windows"]["minute"]["used"] == 40


@pytest.mark.redis
def test_redis_budget_windows_pause_and_remaining(hub_redis_url, hub_redis_namespace):
    store = RedisBudgetStore.from_url(hub_redis_url, hub_redis_namespace)
    budget = RateBudget("autotask:db", BudgetLimits(per_hour=5, max_wait_seconds=1), store)
    for _ in range(5):
        budget.release(budget.acquire())
    with pytest.raises(BudgetExhausted) as refused:
        budget.acquire()
    assert refused.value.window == "hour"
    other = RateBudget("autotask:db2", BudgetLimits(per_minute=50, max_wait_seconds=1), store)
    with other.call() as call:
        call.answered(200, remaining={"minute": 10})
    assert store.snapshot("autotask:db2")["windows"]["minute"]["used"] == 40
    other.hold_off(30)
    with pytest.raises(BudgetExhausted) as paused:
        other.acquire()
    assert paused.value.window == "pause" and 25 < paused.value.retry_after <= 30
