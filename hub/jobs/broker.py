"""The Dramatiq broker: Redis in production, an in-process broker on the embedded defaults.

:func:`make_broker` is a factory, never called at import time: the runtime declares its actors
on the broker it is given (:func:`hub.jobs.runtime.build_runtime`), so a test can hand it a
``StubBroker`` and a worker process gets a Redis broker, without any module-level global.
"""

from __future__ import annotations

from dramatiq import Broker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage

from hub.jobs.settings import JobSettings, broker_kind

__all__ = ["make_broker", "is_in_process"]

#: Redis workers run maintenance (requeueing a dead worker's messages) on this many polls in a
#: million (2%);
#: the default of 1/1000 would leave a killed worker's messages waiting for minutes.
REDIS_MAINTENANCE_CHANCE = 20_000


def make_broker(broker_url: str | None, settings: JobSettings | None = None) -> Broker:
    """A Redis broker for ``redis://``/``rediss://`` URLs, else an in-process broker."""
    settings = settings or JobSettings.from_environment()
    if broker_kind(broker_url) == "in-process":
        broker: Broker = StubBroker()
    else:
        # imported here: the redis client is heavy and the embedded defaults never need it
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=broker_url, namespace=settings.namespace,
                             heartbeat_timeout=int(settings.heartbeat_timeout_seconds * 1000),
                             maintenance_chance=REDIS_MAINTENANCE_CHANCE)
    broker.add_middleware(CurrentMessage())
    broker.emit_after("process_boot")
    return broker


def is_in_process(broker: Broker) -> bool:
    """True for the embedded broker, whose queue dies with the process (the dispatcher then
    re-sends every row still marked dispatched at start-up)."""
    return isinstance(broker, StubBroker)
