"""Storing a billing run's drafts one chunk behind its drafting.

A preview works a chunk of schedules at a time: read, count, price, then store the drafts.
On PostgreSQL storing a chunk is mostly waiting for the server (it inserts, updates its
indexes and commits in its own process), so :class:`StoreBehind` stores each chunk in a
thread while the next chunk is read, counted and priced. The stores
themselves still run one at a time and in chunk order, and everything a store reports (drafts
left out, keys already held elsewhere) is handed back in that order, so a run's batch, notes and
left-out list are what the chunk-by-chunk run made.

What the next chunk reads does not depend on what is being stored, with one exception: a
draft reserves its organisation's future items and pending ticket charges when it is stored,
and another schedule of the same organisation must not take them again. So before a chunk is
read, :meth:`StoreBehind.before_reading` waits for the store in flight when that store holds a
draft of any of the chunk's organisations.

On SQLite the store runs in the caller's thread (see :data:`THREADED`), and the chunks are
read through :func:`hub.db.readers.separate_reader`: the hub's engine takes the write lock at
the start of every transaction, reads included, and a run's reads need not hold up the
workers' and the web admin's writes.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable

from sqlalchemy.engine import Engine

from hub.db.readers import separate_reader

__all__ = ["StoreBehind", "reading_engine", "THREADED"]


def reading_engine(engine: Engine) -> Engine:
    """The engine a run reads its chunks through: one that does not wait for the store in
    flight (see module docstring)."""
    return separate_reader(engine) or engine


#: The databases whose stores run in a thread. Not SQLite: its driver takes the GIL back after
#: every row it steps, so a store in a thread moved on only while the drafting thread waited,
#: and a run was measured no faster (issue #21); a private in-memory database could not be
#: opened by a second thread either.
THREADED = frozenset({"postgresql"})


class StoreBehind:
    """Runs ``store(drafts)`` for each chunk in one thread, a chunk behind the caller.

    ``store`` returns what the run collects from a chunk (any value); ``collect`` is called in
    the caller's thread with it, once per chunk and in chunk order, before the next store
    starts and before the caller sees the run finish. Use as a context manager: leaving it
    waits for the store in flight (its error is raised unless another is on its way out)."""

    def __init__(self, engine: Engine, store: Callable[[list[Any]], Any],
                 collect: Callable[[Any], None]) -> None:
        self._store, self._collect = store, collect
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="hub-billing-store") \
            if engine.url.get_backend_name() in THREADED else None
        self._flight: Future | None = None
        self._organisations: frozenset[int] = frozenset()

    def __enter__(self) -> "StoreBehind":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.wait()
            elif self._flight is not None:
                # the run is failing already: let the store finish (the batch is discarded
                # next, which must not race it) and keep the first error
                self._flight.exception()
                self._flight = None
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)

    def before_reading(self, organisation_ids: Iterable[int]) -> None:
        """Wait for the store in flight if it holds drafts of any of these organisations."""
        if self._flight is not None and not self._organisations.isdisjoint(organisation_ids):
            self.wait()

    def submit(self, drafts: list[Any], organisation_ids: Iterable[int]) -> None:
        """Store ``drafts`` (of these organisations) after the chunk before them."""
        self.wait()
        if self._pool is None:
            self._collect(self._store(drafts))
            return
        self._organisations = frozenset(organisation_ids)
        self._flight = self._pool.submit(self._store, drafts)

    def wait(self) -> None:
        """Wait for the store in flight and collect what it reports; its error is raised."""
        flight, self._flight = self._flight, None
        if flight is not None:
            self._collect(flight.result())
