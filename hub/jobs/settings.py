"""Tunables of the job runtime, with their defaults as named constants.

They come from ``HUB_JOBS_*`` environment variables (e.g. ``HUB_JOBS_MIN_BACKOFF_SECONDS=0.05``
in a test) through :meth:`JobSettings.from_environment`, so an operator can tune retries without
a code change and a test can make them fast.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.errors import ConfigError

__all__ = [
    "JobSettings", "DEFAULT_MIN_BACKOFF_SECONDS", "DEFAULT_MAX_BACKOFF_SECONDS",
    "DEFAULT_MAX_ATTEMPTS", "DEFAULT_DISPATCH_LEASE_SECONDS", "DEFAULT_DISPATCH_INTERVAL_SECONDS",
    "DEFAULT_PUSH_BATCH_SIZE", "DEFAULT_WORKER_THREADS", "DEFAULT_HEARTBEAT_TIMEOUT_SECONDS",
    "DEFAULT_QUEUE", "broker_kind",
]

#: First retry waits about this long; each further retry doubles it (plus jitter).
DEFAULT_MIN_BACKOFF_SECONDS = 5.0
#: No retry waits longer than this, unless the vendor's Retry-After asks for more.
DEFAULT_MAX_BACKOFF_SECONDS = 15 * 60.0
#: After this many transient failures a job stops and is recorded as failed (replayable).
DEFAULT_MAX_ATTEMPTS = 12
#: A dispatched outbox row whose job has not finished within this time is dispatched again
#: (its message was lost, e.g. with a killed worker); running jobs renew the lease.
DEFAULT_DISPATCH_LEASE_SECONDS = 10 * 60.0
#: How often the dispatcher looks for pending outbox rows.
DEFAULT_DISPATCH_INTERVAL_SECONDS = 1.0
#: Documents per push hook call: a multiple of Xero's 50 and QuickBooks' 30 documents per
#: request, so neither plugin sends a request half full.
DEFAULT_PUSH_BATCH_SIZE = 150
#: Worker threads per worker process.
DEFAULT_WORKER_THREADS = 4
#: A Redis worker silent for this long is presumed dead and its messages are requeued.
DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 60.0
#: The queue every hub actor uses.
DEFAULT_QUEUE = "hub"


#: ``HUB_JOBS_MAX_ATTEMPTS`` sets ``max_attempts``.
ENV_PREFIX = "HUB_JOBS_"


class JobSettings(BaseModel):
    """Retry, lease and batching settings of the job runtime (``HUB_JOBS_*``)."""

    model_config = ConfigDict(extra="forbid")

    min_backoff_seconds: float = Field(DEFAULT_MIN_BACKOFF_SECONDS, gt=0)
    max_backoff_seconds: float = Field(DEFAULT_MAX_BACKOFF_SECONDS, gt=0)
    max_attempts: int = Field(DEFAULT_MAX_ATTEMPTS, ge=1)
    dispatch_lease_seconds: float = Field(DEFAULT_DISPATCH_LEASE_SECONDS, gt=0)
    dispatch_interval_seconds: float = Field(DEFAULT_DISPATCH_INTERVAL_SECONDS, gt=0)
    push_batch_size: int = Field(DEFAULT_PUSH_BATCH_SIZE, ge=1, le=1000)
    worker_threads: int = Field(DEFAULT_WORKER_THREADS, ge=1)
    heartbeat_timeout_seconds: float = Field(DEFAULT_HEARTBEAT_TIMEOUT_SECONDS, gt=0)
    queue: str = DEFAULT_QUEUE
    namespace: str = Field("hub", description="Redis key prefix of the broker")

    @classmethod
    def from_environment(cls, **overrides: object) -> "JobSettings":
        """The ``HUB_JOBS_*`` variables, with ``overrides`` on top; a bad value is refused
        with the variable's name."""
        from hub.config import format_validation_error
        from hub.host.environment import read_environment

        environment = read_environment(cls, ENV_PREFIX)
        try:
            return cls(**{**environment.values, **overrides})
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, source=None, text=None,
                                                      environment=environment),
                              hint="correct the variable and run again") from None


def broker_kind(broker_url: str | None) -> Literal["in-process", "redis"]:
    """Which broker ``broker_url`` names: Redis for ``redis://``/``rediss://``/``unix://``, the
    in-process broker when unset (or ``memory://``); any other URL is refused. Decided here,
    apart from :func:`hub.jobs.broker.make_broker`, so ``hub status`` can tell without Dramatiq."""
    if broker_url is None or broker_url in ("", "memory://"):
        return "in-process"
    if broker_url.startswith(("redis://", "rediss://", "unix://")):
        return "redis"
    raise ConfigError(f"broker URL {broker_url!r} is not supported",
                      hint="use redis://host:6379/0, or leave HUB_BROKER_URL unset for the "
                           "in-process broker")
