"""A Dramatiq middleware that counts every job run by actor and outcome (``/metrics``).

Dramatiq's own ``Prometheus`` middleware serves its figures from each worker process on a port
of its own and keeps them in a multiprocess directory on that machine; the hub's workers run on
several machines and ``/metrics`` is served by the web app, so the outcomes go to the shared
counters instead (:mod:`hub.observe.counters`).
"""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

from hub.observe.counters import count_job

__all__ = ["JobMetrics"]


def _outcome(exception: BaseException | None) -> str:
    if exception is None:
        return "done"
    if isinstance(exception, dramatiq.Retry):
        return "retry"
    return "error"


class JobMetrics(Middleware):
    """Counts ``hub_jobs_total{actor,outcome}`` (pulls count themselves, however they run:
    :func:`hub.sources.pulling.pull_connection`)."""

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        count_job(message.actor_name, _outcome(exception))

    def after_skip_message(self, broker: Any, message: Any) -> None:
        count_job(message.actor_name, "skipped")
