"""Scheduler: per-connection pull slots, the daily run, and two schedulers at once."""

from __future__ import annotations

import datetime as dt
import threading

from dramatiq.brokers.stub import StubBroker
from pydantic import BaseModel
from sqlalchemy import func, select

from hub import ConnectionType, hookimpl
from hub.db.engine import session_scope
from hub.db.models import ScheduleClaim
from hub.jobs import build_runtime
from hub.jobs.scheduler import Scheduler, due_runs, next_runs

UTC = dt.timezone.utc


class Empty(BaseModel):
    pass


class PsaPlugin:
    @hookimpl
    def hub_register_connection_types(self, register):
        register(ConnectionType("psa", Empty, frozenset({"pull"})))
        register(ConnectionType("books", Empty, frozenset({"accounting"})))


def make_ctx(make_hub_context):
    return make_hub_context(PsaPlugin(), connections=[
        {"name": "ninja", "plugin": "psa", "pull_interval_minutes": 30},
        {"name": "xero", "plugin": "books"}], billing={"run_at": "06:00"})


def test_due_and_next_runs(make_hub_context):
    ctx = make_ctx(make_hub_context)
    now = dt.datetime(2026, 11, 22, 10, 47, tzinfo=UTC)
    due = {r.job: (r.slot, r.actor, r.args) for r in due_runs(ctx, now)}
    assert due["pull:ninja"] == (dt.datetime(2026, 11, 22, 10, 30, tzinfo=UTC),
                                 "pull_connection", ("ninja",))
    assert "pull:xero" not in due  # accounting connections are not pulled
    assert due["billing_run"] == (dt.datetime(2026, 11, 22, 6, 0, tzinfo=UTC), "billing_run",
                                  ("2026-11-22",))
    early = {r.job: r.args for r in due_runs(ctx, dt.datetime(2026, 11, 22, 5, 0, tzinfo=UTC))}
    assert early["billing_run"] == ("2026-11-21",)  # before run_at: yesterday's slot
    upcoming = next_runs(ctx, now)
    assert upcoming["pull:ninja"] == dt.datetime(2026, 11, 22, 11, 0, tzinfo=UTC)
    assert upcoming["billing_run"] == dt.datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def test_two_schedulers_at_once_send_each_slot_once(make_hub_context):
    ctx = make_ctx(make_hub_context)
    broker = StubBroker()
    runtime = build_runtime(ctx, broker=broker)
    now = dt.datetime(2026, 11, 22, 10, 47, tzinfo=UTC)
    sent: list = []
    barrier = threading.Barrier(2)

    def run(name: str) -> None:
        barrier.wait()
        sent.extend(Scheduler(runtime, name=name).tick(now))

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.job for r in sent) == ["account_calendar", "billing_run", "card_reminders",
                                           "check_overdue", "pull:ninja", "send_reminders"]
    assert broker.queues["hub"].qsize() == 6
    # The same tick later in the slot sends nothing; the next pull slot sends one pull.
    assert Scheduler(runtime, name="c").tick(now + dt.timedelta(minutes=5)) == []
    later = Scheduler(runtime, name="c").tick(now + dt.timedelta(minutes=20))
    assert [r.job for r in later] == ["pull:ninja"]
    with session_scope(ctx.engine) as session:
        assert session.execute(select(func.count()).select_from(ScheduleClaim)).scalar() == 7
    runtime.close()


def test_scheduled_jobs_call_the_services(make_hub_context):
    from hub.jobs.adapters import Services

    calls = []
    ctx = make_ctx(make_hub_context)
    services = Services(
        pull_connection=lambda c, name: calls.append(("pull", name)),
        billing_run=lambda c, day, auto: calls.append(("bill", day, auto)),
        send_reminders=lambda c, day: calls.append(("remind", day)),
        check_overdue=lambda c, day: calls.append(("overdue", day)),
        account_calendar=lambda c, day: calls.append(("calendar", day)),
        card_reminders=lambda c, day: calls.append(("cards", day)))
    runtime = build_runtime(ctx, broker=StubBroker(), services=services)
    runtime.start_worker(1)
    Scheduler(runtime).tick(dt.datetime(2026, 11, 22, 10, 47, tzinfo=UTC))
    runtime.broker.join("hub")
    runtime.worker.join()
    runtime.close()
    day = dt.date(2026, 11, 22)
    assert sorted(calls, key=str) == sorted([("pull", "ninja"), ("bill", day, False),
                                             ("remind", day), ("overdue", day),
                                             ("calendar", day), ("cards", day)], key=str)
