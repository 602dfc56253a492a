"""Assemble a :class:`~hub.jobs.runtime.JobRuntime`: a broker, the services and every actor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dramatiq import Broker

from hub.jobs.actors import declare_actors
from hub.jobs.adapters import Services
from hub.jobs.broker import is_in_process, make_broker
from hub.jobs.job_metrics import JobMetrics
from hub.jobs.runtime import JobRuntime
from hub.jobs.settings import JobSettings
from hub.sources.budgets import configure_budgets

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["build_runtime"]


def build_runtime(ctx: "HubContext", *, broker: Broker | None = None,
                  settings: JobSettings | None = None,
                  services: Services | None = None) -> JobRuntime:
    """The runtime for ``ctx``: ``broker`` or one made from ``settings.broker_url``, with every
    hub actor declared on it."""
    settings = settings or JobSettings.from_environment()
    broker = broker or make_broker(ctx.settings.broker_url, settings)
    if not any(isinstance(m, JobMetrics) for m in broker.middleware):
        broker.add_middleware(JobMetrics())
    # Vendor budgets live where the queue lives: Redis shares them with every worker.
    configure_budgets(None if is_in_process(broker) else ctx.settings.broker_url,
                      settings.namespace)
    runtime = JobRuntime(ctx=ctx, broker=broker, settings=settings,
                         services=services or Services())
    runtime.actors = declare_actors(runtime)
    return runtime
