"""``/metrics``: the hub's figures in Prometheus' text format, computed at scrape time.

Everything comes from where it is true for the whole hub, not from the scraped process: the
database (outbox, failed jobs, accepted webhook events, last pulls, confirmed invoices,
heartbeats), the shared counters every process adds to (:mod:`hub.observe.counters`: jobs by
actor and outcome, pulls, vendor calls and 429s, refused webhooks, billing run seconds) and the
rate budgets' store (Redis on a production hub). So any web replica answers the same, however
many workers run elsewhere, and figures survive restarts. Built on prometheus_client's custom
collector API (``Collector.collect`` yielding metric families).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Iterator

from prometheus_client.core import (
    CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily,
)
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import func, select

from hub.db.engine import session_scope
from hub.db.models._base import utcnow
from hub.db.models.inbox import InboxEvent
from hub.db.models.invoices import Invoice
from hub.db.models.jobs import ConnectionStateEntry, JobRecord, JobStatus
from hub.db.models.observe import ProcessHeartbeat
from hub.db.models.sync import OutboxEntry, OutboxStatus
from hub.jobs.runtime import LAST_PULL_KEY
from hub.observe.counters import read_counters
from hub.sources.budgets import budget_snapshots

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["HubCollector", "metrics_registry"]

_COUNTERS = {
    "hub_jobs": ("Job runs by actor and outcome (done, retry, error, skipped)",
                 ("actor", "outcome")),
    "hub_pulls": ("Pulls by connection and outcome", ("connection", "outcome")),
    "hub_vendor_calls": ("HTTP calls to vendors by connection and answer status "
                         "(0: no answer)", ("connection", "status")),
    "hub_vendor_rate_limited": ("Vendor answers 429 (rate limited) by connection",
                                ("connection",)),
    "hub_webhook_events": ("Webhook deliveries by connection and outcome (accepted, refused)",
                           ("source", "outcome")),
}


def _age(now: dt.datetime, then: dt.datetime | None) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:
        then = then.replace(tzinfo=dt.timezone.utc)
    return max((now - then).total_seconds(), 0.0)


class HubCollector(Collector):
    """The hub's metric families for one context (see the module docstring)."""

    def __init__(self, ctx: "HubContext") -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        yield from self._counters()
        yield from self._database(now)
        yield from self._budgets()

    def _counters(self) -> Iterator[Metric]:
        series = read_counters(self.ctx.engine)
        for name, (doc, labels) in _COUNTERS.items():
            family = CounterMetricFamily(name, doc, labels=list(labels))
            for found, values, value in series:
                if found == name:
                    family.add_metric([values.get(label, "") for label in labels], value)
            yield family
        summary = SummaryMetricFamily("hub_billing_run_seconds",
                                      "Billing run steps (preview, confirm) and their seconds",
                                      labels=["step"])
        sums = {v.get("step", ""): value for n, v, value in series
                if n == "hub_billing_run_seconds_sum"}
        for n, values, value in series:
            if n == "hub_billing_run_seconds_count":
                step = values.get("step", "")
                summary.add_metric([step], count_value=value, sum_value=sums.get(step, 0.0))
        yield summary

    def _database(self, now: dt.datetime) -> Iterator[Metric]:
        with session_scope(self.ctx.engine) as session:
            outbox = session.execute(select(OutboxEntry.effect, OutboxEntry.status, func.count())
                                     .group_by(OutboxEntry.effect, OutboxEntry.status)).all()
            oldest = session.execute(select(func.min(OutboxEntry.created_at)).where(
                OutboxEntry.status.in_([OutboxStatus.pending, OutboxStatus.dispatched]))).scalar()
            failed = session.execute(select(JobRecord.actor, func.count()).where(
                JobRecord.status == JobStatus.failed).group_by(JobRecord.actor)).all()
            inbox = session.execute(select(InboxEvent.connection, InboxEvent.status, func.count())
                                    .group_by(InboxEvent.connection, InboxEvent.status)).all()
            pulls = session.execute(select(ConnectionStateEntry.connection,
                                           ConnectionStateEntry.value).where(
                ConnectionStateEntry.key == LAST_PULL_KEY)).all()
            confirmed = session.execute(select(func.count()).select_from(Invoice).where(
                Invoice.finalised_at.is_not(None))).scalar() or 0
            beats = session.execute(select(ProcessHeartbeat.kind, ProcessHeartbeat.process,
                                           ProcessHeartbeat.seen_at)).all()
        rows = GaugeMetricFamily("hub_outbox_rows", "Outbox rows by effect and status",
                                 labels=["effect", "status"])
        depth = 0
        for effect, status, n in outbox:
            rows.add_metric([str(effect), str(status)], n)
            if status in (OutboxStatus.pending, OutboxStatus.dispatched):
                depth += n
        yield rows
        yield GaugeMetricFamily("hub_outbox_depth", "Outbox rows still to do (pending or "
                                "dispatched)", value=depth)
        yield GaugeMetricFamily("hub_outbox_oldest_age_seconds", "Age of the oldest outbox row "
                                "still to do (0 when none)", value=_age(now, oldest))
        family = GaugeMetricFamily("hub_failed_jobs", "Jobs that gave up and wait for "
                                   "`hub jobs retry`, by actor", labels=["actor"])
        for actor, n in failed:
            family.add_metric([actor], n)
        yield family
        family = GaugeMetricFamily("hub_inbox_events", "Stored webhook events by connection and "
                                   "status", labels=["connection", "status"])
        for connection, status, n in inbox:
            family.add_metric([connection, str(status)], n)
        yield family
        family = GaugeMetricFamily("hub_pull_last_success_age_seconds",
                                   "Seconds since each connection's last completed pull",
                                   labels=["connection"])
        for connection, value in pulls:
            when = dt.datetime.fromisoformat(value.strip('"'))
            family.add_metric([connection], _age(now, when))
        yield family
        yield CounterMetricFamily("hub_invoices_confirmed", "Invoices finalised (numbered) by "
                                  "confirmed billing runs", value=confirmed)
        family = GaugeMetricFamily("hub_process_heartbeat_age_seconds", "Seconds since each "
                                   "worker, scheduler or web process last reported",
                                   labels=["kind", "process"])
        for kind, process, seen in beats:
            family.add_metric([kind, process], _age(now, seen))
        yield family

    def _budgets(self) -> Iterator[Metric]:
        in_flight = GaugeMetricFamily("hub_rate_budget_in_flight", "Vendor calls in flight per "
                                      "shared budget", labels=["budget"])
        used = GaugeMetricFamily("hub_rate_budget_used", "Calls counted in each budget window",
                                 labels=["budget", "window"])
        limit = GaugeMetricFamily("hub_rate_budget_limit", "Each budget window's limit",
                                  labels=["budget", "window"])
        for snap in budget_snapshots():
            in_flight.add_metric([snap["key"]], snap["in_flight"])
            for window, figures in snap["windows"].items():
                used.add_metric([snap["key"], window], figures["used"])
                limit.add_metric([snap["key"], window], figures["limit"])
        yield from (in_flight, used, limit)


def metrics_registry(ctx: "HubContext") -> CollectorRegistry:
    """A registry holding only the hub's collector (``generate_latest(registry)`` renders it)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(ctx))
    return registry
