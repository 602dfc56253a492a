"""Reading the hub's database for reconciliation: read-only, streamed, in Python's key order.

- :func:`read_only` opens the hub's database so that nothing can be written: on SQLite a
  separate engine over the same file with ``PRAGMA query_only`` (and no ``BEGIN IMMEDIATE``, so a
  long report never holds the write lock the workers need), made once per hub engine; on
  PostgreSQL read-only transactions.
- :func:`stream` runs a query and yields rows in batches (a server-side cursor on PostgreSQL), so
  a million documents never sit in memory at once; :func:`stream_tuples` does the same for the
  hot paths with plain driver tuples and no per-row Python work.
- :func:`key_order` orders a text key the way Python compares strings (code point order): binary
  on SQLite; on PostgreSQL the database's own order when it is code point order (``C``,
  ``C.UTF-8``), else ``COLLATE "C"``.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from functools import lru_cache
from itertools import chain
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from hub.db.readers import read_only
from hub.db.sql import exact_decimal, raw_columns
from hub.db.models import Organisation, OrganisationMapping

__all__ = ["read_only", "stream", "stream_tuples", "partitions", "BackgroundRows",
           "key_order", "key_collation", "Lookups", "STREAM_BATCH", "raw_columns",
           "exact_decimal", "as_date"]

#: Rows fetched per round trip when streaming.
STREAM_BATCH = 5_000
#: Rows fetched per call from SQLite, at most (see :func:`stream_tuples`).
SQLITE_BATCH = 1_000
#: Batches a streaming cursor may fetch ahead of the comparison.
PREFETCH_BATCHES = 2
#: Rows of a prefetched stream's first batch; each next one is twice as large, up to the
#: stream's batch (see :func:`_prefetched`).
FIRST_BATCH = 500
#: Per statement, never ``conn.execution_options(...)``: that sets the option on the
#: connection itself (SQLAlchemy 2), and every later statement on it, the small batched
#: lookups of a report included, then ran through a server-side cursor on PostgreSQL
#: (DECLARE, FETCH, CLOSE: three round trips instead of one).
_STREAM = {"stream_results": True}


def stream(conn: Connection, statement: Any, batch: int = STREAM_BATCH) -> Iterator[Any]:
    """Rows of ``statement``, fetched ``batch`` at a time (server-side cursor where possible)."""
    result = conn.execute(statement, execution_options=_STREAM)
    for partition in result.partitions(batch):
        yield from partition


def partitions(statement: Any, batch: int = STREAM_BATCH
               ) -> Callable[[Connection], Iterable[list]]:
    """Reads ``statement`` in batches of ``batch`` rows as :func:`stream` does (for
    :class:`BackgroundRows`)."""
    def read(conn: Connection) -> Iterable[list]:
        result = conn.execute(statement, execution_options=_STREAM)
        return result.partitions(batch)

    return read


def stream_tuples(conn: Connection, statement: Any, batch: int = STREAM_BATCH
                  ) -> Iterator[tuple]:
    """Plain tuples of ``statement`` straight from the driver's cursor, ``batch`` at a time.

    For the hot paths: SQLAlchemy compiles the statement, binds its parameters and opens the
    (server-side, where possible) cursor, but rows skip its per-row processing, and the
    iterator is built from C parts only (no Python frame per row). Select
    :func:`raw_columns` (or run a text statement) so the values need no type processing
    either. The cursor closes with
    ``conn``.
    """
    if conn.dialect.name != "sqlite":
        # the query runs in the server while this thread reads the other side's first rows
        return _prefetched(conn, statement, batch)
    # SQLite has no server-side cursor, so SQLAlchemy buffers nothing: the driver's cursor
    # gives every row, with no Row object built for the first batch either. It runs in this
    # process: nothing to wait for that a thread could overlap (the driver holds the GIL
    # while it builds rows).
    # Smaller batches than a server's: a batch here is only what is held at once, and the
    # rows of a smaller one are freed, and their memory reused, sooner. A report usually runs
    # in a fresh process, which pays a page fault for every page of memory it touches first
    # (about 3 us each on a virtual machine): batches of 5,000 rows made a 10,000-document
    # report touch 1,250 more pages, an eighth of its time (issue #21).
    batch = min(batch, SQLITE_BATCH)
    fetch = conn.execute(statement).cursor.fetchmany
    first = fetch(batch)
    if len(first) < batch:
        return iter(first)
    return chain(first, chain.from_iterable(iter(lambda: fetch(batch), [])))


class _Failed:
    """An error raised by the prefetching thread, handed to the reader to raise."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _prefetched(conn: Connection, statement: Any, batch: int) -> Iterator[tuple]:
    """The rows of ``statement`` from a server-side cursor, run and fetched by a thread: the
    query starts at once and runs in the database while the caller does other work (reads the
    other side's first page), and the next batch is fetched while this one is being compared,
    so waiting for the database and comparing overlap (the driver releases the GIL while it
    waits). At most :data:`PREFETCH_BATCHES` batches are held. The thread owns ``conn`` until
    it has handed over the first batch (the caller uses ``conn`` only once it has rows), and the
    cursor until it has handed over the last (empty) batch; it stops if ``conn`` closes."""
    handover: queue.Queue = queue.Queue(maxsize=PREFETCH_BATCHES)

    def hand_over(item: Any) -> bool:
        while True:
            try:
                handover.put(item, timeout=0.2)
                return True
            except queue.Full:
                if conn.closed:  # the reader gave up (an error, or it stopped early)
                    return False

    def fetcher() -> None:
        try:
            result = conn.execute(statement, execution_options=_STREAM)
            # The first batch through SQLAlchemy: with a server-side cursor it has already
            # prefetched a row into its own buffer, and this drains that buffer exactly.
            # Small, then doubling up to ``batch``: the comparison starts on the first rows
            # instead of waiting for ``batch`` of them, and the database produces the next
            # batch meanwhile.
            size = min(batch, FIRST_BATCH)
            rows = result.fetchmany(size)
            if len(rows) < size:  # all there is (and SQLAlchemy has closed the cursor)
                if rows and not hand_over(rows):
                    return
                hand_over([])
                return
            if not hand_over(rows):
                return
            fetch = result.cursor.fetchmany
            while True:
                size = min(batch, 2 * size)
                rows = fetch(size)
                if not hand_over(rows) or not rows:
                    return
        except BaseException as exc:  # handed to the reader, who raises it
            hand_over(_Failed(exc))

    threading.Thread(target=fetcher, name="hub-reconcile-prefetch", daemon=True).start()

    def take() -> Any:
        item = handover.get()
        if isinstance(item, _Failed):
            raise item.error
        return item

    # chain/iter run in C: no Python frame per row
    return chain.from_iterable(iter(take, []))


class BackgroundRows:
    """Batches of rows read by a thread from the moment this is made: ``read(conn)`` yields
    them (lists) from a connection to ``engine`` (see :func:`partitions`).

    For a query whose time is spent inside the database (an anti-join over every document
    that returns a few rows): it runs while the caller does other work, and its batches wait
    in a bounded queue (:data:`PREFETCH_BATCHES` batches) until they are wanted. The thread
    connects to ``engine`` itself (on PostgreSQL a new connection takes as long as a small
    query, so that overlaps too) and closes the connection when done or stopped; :meth:`close`
    stops it and waits for it (use it as a context manager). The thread needs the GIL for
    each row it receives, and waits for it while the caller computes: a query read this way
    must return its rows a batch at a time (PostgreSQL's cursor) or few rows (SQLite).
    """

    def __init__(self, engine: Engine, read: Callable[[Connection], Iterable[list]]) -> None:
        self._handover: queue.Queue = queue.Queue(maxsize=PREFETCH_BATCHES)
        self._stop = threading.Event()

        def reader() -> None:
            try:
                with engine.connect() as conn:
                    for batch in read(conn):
                        if not self._put(batch):
                            return
                self._put([])
            except BaseException as exc:  # handed to the reader, who raises it
                self._put(_Failed(exc))

        self._thread = threading.Thread(target=reader, name="hub-reconcile-background",
                                        daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._handover.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _take(self) -> Any:
        item = self._handover.get()
        if isinstance(item, _Failed):
            raise item.error
        return item

    def __iter__(self) -> Iterator[tuple]:
        return chain.from_iterable(iter(self._take, []))

    def close(self) -> None:
        """Stop the thread (a batch it is fetching is finished first) and wait for it."""
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> "BackgroundRows":
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()


def as_date(value: Any) -> dt.date | None:
    """A date from the driver (a date, or ISO text on SQLite)."""
    if value is None or value.__class__ is dt.date:
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def key_order(column: Any, engine: Engine, conn: Connection | None = None) -> Any:
    """``column`` ordered in code point order on every database (see module docstring).

    On PostgreSQL the default collation may sort by locale; unless the database's own
    collation already is code point order (``C``, ``POSIX``, ``C.UTF-8``), the key is ordered
    ``COLLATE "C"`` — which cannot use the column's index, so a database in ``C`` order is the
    faster one to reconcile. The collation is asked once per database, on ``conn`` when given
    (a new connection to PostgreSQL costs more than the question).
    """
    collation = key_collation(engine, conn)
    return column.collate(collation) if collation else column


def key_collation(engine: Engine, conn: Connection | None = None) -> str | None:
    """The collation a text key must be ordered in for code point order (``C``), or ``None``
    when the database's own order already is (SQLite; see :func:`key_order`)."""
    if engine.url.get_backend_name() == "postgresql":
        if conn is not None:
            _learn_collation(engine, conn)
        if not _codepoint_collation(engine):
            return "C"
    return None


_CODEPOINT_COLLATIONS = {"c", "posix", "c.utf-8", "c.utf8"}
_collation_of: dict[str, bool] = {}
_COLLATION = "SELECT datcollate FROM pg_database WHERE datname = current_database()"


def _learn_collation(engine: Engine, conn: Connection) -> None:
    """Ask ``conn`` for the database's collation, unless it is known already."""
    url = engine.url.render_as_string(hide_password=True)
    if url not in _collation_of:
        collation = conn.exec_driver_sql(_COLLATION).scalar()
        _collation_of[url] = str(collation or "").lower() in _CODEPOINT_COLLATIONS


def _codepoint_collation(engine: Engine) -> bool:
    """True when this PostgreSQL database's default collation sorts by code point."""
    url = engine.url.render_as_string(hide_password=True)
    if url not in _collation_of:
        with engine.connect() as conn:
            _learn_collation(engine, conn)
    return _collation_of[url]


class Lookups:
    """Small point queries with bounded caches: organisation names and external mappings."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.organisation_of_ref = lru_cache(maxsize=20_000)(self._organisation_of_ref)

    def _organisation_of_ref(self, connection: str, external_id: str | None) -> int | None:
        """The hub organisation mapped to ``external_id`` at ``connection``, if any."""
        if not external_id:
            return None
        with self.engine.connect() as conn:
            return conn.execute(select(OrganisationMapping.organisation_id).where(
                OrganisationMapping.connection == connection,
                OrganisationMapping.external_id == external_id)).scalar()

    def organisation_names(self, ids: Iterable[int | None]) -> dict[int, str]:
        """Names of the organisations ``ids`` (one query per thousand)."""
        wanted = sorted({i for i in ids if i is not None})
        names: dict[int, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 1000):
                chunk = wanted[start:start + 1000]
                names.update(conn.execute(select(Organisation.id, Organisation.name)
                                          .where(Organisation.id.in_(chunk))).all())
        return names
