"""Counters every process adds to and any web replica reports (``/metrics``).

Workers, the scheduler and the web server are separate processes, often on separate machines,
and the embedded demo ends before anyone scrapes it. So instead of prometheus_client's
per-process values (or its multiprocess mode, which needs one shared directory on one machine),
each process keeps its increments in memory and adds them to the ``hub_counter`` table every few
seconds and when it stops (:func:`flush`); ``/metrics`` reads the table at scrape time. One
``UPDATE ... value + delta`` per series per flush keeps the database load negligible.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from typing import Any

__all__ = ["count", "flush", "read_counters", "count_vendor_call", "count_job",
           "count_webhook", "count_pull", "observe_seconds", "pending", "timed"]

log = logging.getLogger("hub.observe")

_lock = threading.Lock()
_pending: dict[tuple[str, str], float] = defaultdict(float)


def _labels(labels: dict[str, Any]) -> str:
    return json.dumps({k: str(v) for k, v in sorted(labels.items())}, separators=(",", ":"))


def count(name: str, amount: float = 1.0, **labels: Any) -> None:
    """Add ``amount`` to the series ``name{labels}`` (kept in memory until :func:`flush`)."""
    with _lock:
        _pending[(name, _labels(labels))] += amount


def pending() -> dict[tuple[str, str], float]:
    """This process's increments not yet flushed (for tests and the scrape's own process)."""
    with _lock:
        return dict(_pending)


def flush(engine) -> int:
    """Add this process's increments to the database; returns how many series were written.
    On a database error the increments are kept for the next flush."""
    from sqlalchemy.exc import SQLAlchemyError

    with _lock:
        batch = dict(_pending)
        _pending.clear()
    if not batch:
        return 0
    try:
        _upsert(engine, batch)
    except SQLAlchemyError as exc:
        with _lock:
            for key, amount in batch.items():
                _pending[key] += amount
        log.warning("counters not saved yet (%s); kept for the next flush", type(exc).__name__)
        return 0
    return len(batch)


def _upsert(engine, batch: dict[tuple[str, str], float]) -> None:
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    from hub.db.models._base import utcnow
    from hub.db.models.observe import HubCounter

    table = HubCounter.__table__
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    with engine.begin() as conn:
        # sorted: two processes flushing the same series lock the rows in the same order
        for (name, labels), amount in sorted(batch.items()):
            stmt = insert(table).values(name=name, labels=labels, value=amount, updated_at=now)
            stmt = stmt.on_conflict_do_update(
                index_elements=["name", "labels"],
                set_={"value": table.c.value + stmt.excluded.value, "updated_at": now})
            conn.execute(stmt)


def read_counters(engine, names: tuple[str, ...] | None = None
                  ) -> list[tuple[str, dict[str, str], float]]:
    """Every stored series (optionally only ``names``) plus this process's unflushed part."""
    from sqlalchemy import select

    from hub.db.models.observe import HubCounter

    totals: dict[tuple[str, str], float] = defaultdict(float)
    query = select(HubCounter.name, HubCounter.labels, HubCounter.value)
    if names:
        query = query.where(HubCounter.name.in_(names))
    with engine.connect() as conn:
        for name, labels, value in conn.execute(query):
            totals[(name, labels)] += value
    for (name, labels), amount in pending().items():
        if not names or name in names:
            totals[(name, labels)] += amount
    return [(name, json.loads(labels), value) for (name, labels), value in sorted(totals.items())]


# ------------------------------------------------------------------ the hub's own series
def count_vendor_call(connection: str, status: int) -> None:
    """One HTTP call to a vendor answered with ``status`` (0: no answer)."""
    count("hub_vendor_calls", connection=connection, status=str(status))
    if status == 429:
        count("hub_vendor_rate_limited", connection=connection)


def count_job(actor: str, outcome: str) -> None:
    """One job run of ``actor`` ended with ``outcome`` (done, retry, failed)."""
    count("hub_jobs", actor=actor, outcome=outcome)


def count_webhook(source: str, outcome: str) -> None:
    """One webhook delivery ``accepted`` or ``refused`` (bad signature, too big, unknown)."""
    count("hub_webhook_events", source=source, outcome=outcome)


def count_pull(connection: str, outcome: str) -> None:
    """One pull of ``connection`` ended with ``outcome`` (done, retry, failed)."""
    count("hub_pulls", connection=connection, outcome=outcome)


def observe_seconds(name: str, seconds: float, **labels: Any) -> None:
    """One timed run: adds to ``<name>_count`` and ``<name>_sum`` (a Prometheus summary)."""
    count(f"{name}_count", 1.0, **labels)
    count(f"{name}_sum", seconds, **labels)


def timed(name: str, **labels: Any):
    """Decorator: each call of the function is one :func:`observe_seconds` (errors too)."""
    import functools
    import time

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                observe_seconds(name, time.perf_counter() - started, **labels)
        return wrapper
    return decorate
