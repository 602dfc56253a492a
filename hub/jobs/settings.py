"""Tunables of the job runtime, with their defaults as named constants.

They come from ``HUB_JOBS_*`` environment variables (e.g. ``HUB_JOBS_MIN_BACKOFF_SECONDS=0.05``
in a test) through :meth:`JobSettings.from_environment`, so an operator can tune retries without
a code change and a test can make them fast.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.errors import ConfigError
from hub.host.setting_values import Number, WholeNumber

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
#: The longest wait a job setting takes, in seconds.
DAY_SECONDS = 86_400.0
#: The queue every hub actor uses.
DEFAULT_QUEUE = "hub"


#: ``HUB_JOBS_MAX_ATTEMPTS`` sets ``max_attempts``.
ENV_PREFIX = "HUB_JOBS_"


class JobSettings(BaseModel):
    """Retry, lease and batching settings of the job runtime (``HUB_JOBS_*``)."""

    model_config = ConfigDict(extra="forbid")

    # Bounded: a timeout of 1e300 seconds or a million threads is a typo, and would surface
    # as an overflow in the broker or a worker that never starts, far from the variable.
    min_backoff_seconds: Number = Field(DEFAULT_MIN_BACKOFF_SECONDS, gt=0, le=DAY_SECONDS)
    max_backoff_seconds: Number = Field(DEFAULT_MAX_BACKOFF_SECONDS, gt=0, le=7 * DAY_SECONDS)
    max_attempts: WholeNumber = Field(DEFAULT_MAX_ATTEMPTS, ge=1, le=1000)
    dispatch_lease_seconds: Number = Field(DEFAULT_DISPATCH_LEASE_SECONDS, gt=0, le=DAY_SECONDS)
    dispatch_interval_seconds: Number = Field(DEFAULT_DISPATCH_INTERVAL_SECONDS, gt=0, le=3600)
    push_batch_size: WholeNumber = Field(DEFAULT_PUSH_BATCH_SIZE, ge=1, le=1000)
    worker_threads: WholeNumber = Field(DEFAULT_WORKER_THREADS, ge=1, le=256)
    heartbeat_timeout_seconds: Number = Field(DEFAULT_HEARTBEAT_TIMEOUT_SECONDS, gt=0,
                                              le=DAY_SECONDS)
    queue: str = DEFAULT_QUEUE
    namespace: str = Field("hub", description="Redis key prefix of the broker")

    @model_validator(mode="after")
    def _backoff_in_order(self) -> "JobSettings":
        if self.min_backoff_seconds > self.max_backoff_seconds:
            raise ValueError(f"min_backoff_seconds ({self.min_backoff_seconds:g}) is more than "
                             f"max_backoff_seconds ({self.max_backoff_seconds:g}); the first "
                             f"retry cannot wait longer than the longest")
        return self

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
