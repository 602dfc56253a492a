"""Jobs: every external effect runs here, retried and idempotent, never in a request.

- :mod:`hub.jobs.broker` — Redis broker in production, in-process on the embedded defaults;
- :mod:`hub.jobs.runtime` — the runtime: context, broker, actors, worker;
- :mod:`hub.jobs.assemble` — :func:`build_runtime` declares the actors on a broker;
- :mod:`hub.jobs.actors` — thin actors taking ids (push, void, charge, send, pull, inbox,
  billing run, reminders, overdue checks);
- :mod:`hub.jobs.dispatcher` — pending outbox rows become messages; lost ones are re-sent;
- :mod:`hub.jobs.push` — the push pipeline (link, lock, broadcast);
- :mod:`hub.jobs.retries` — transient versus permanent, backoff with jitter;
- :mod:`hub.jobs.records` — failed jobs, listed and replayed.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.jobs.assemble import build_runtime
    from hub.jobs.runtime import JobRuntime
    from hub.jobs.settings import JobSettings

__all__ = ["JobRuntime", "JobSettings", "build_runtime"]

#: Served on first access (PEP 562): importing one module of this package (``hub status`` reads
#: hub.jobs.status) must not declare every actor, with the vendor SDKs they import.
_LAZY = {"build_runtime": "hub.jobs.assemble", "JobRuntime": "hub.jobs.runtime",
         "JobSettings": "hub.jobs.settings"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hub.jobs' has no attribute {name!r}")
