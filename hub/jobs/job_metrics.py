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

from hub.observe.counters import count_job, count_pull

__all__ = ["JobMetrics", "PULL_ACTOR"]

PULL_ACTOR = "pull_connection"


def _outcome(exception: BaseException | None) -> str:
    if exception is None:
        return "done"
    if isinstance(exception, dramatiq.Retry):
        return "retry"
    return "error"


class JobMetrics(Middleware):
    """Counts ``hub_jobs_total{actor,outcome}`` and, for pulls, ``hub_pulls_total``."""

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        outcome = _outcome(exception)
        count_job(message.actor_name, outcome)
        if message.actor_name == PULL_ACTOR and message.args:
            count_pull(str(message.args[0]), outcome)

    def after_skip_message(self, broker: Any, message: Any) -> None:
        count_job(message.actor_name, "skipped")
