"""Reading the hub's database for reconciliation: read-only, streamed, in Python's key order.

- :func:`read_only` opens the hub's database so that nothing can be written: on SQLite a
  separate engine over the same file with ``PRAGMA query_only`` (and no ``BEGIN IMMEDIATE``, so a
  long report never holds the write lock the workers need), made once per hub engine; on
  PostgreSQL read-only transactions.
- :func:`stream` runs a query and yields rows in batches (a server-side cursor on PostgreSQL), so
  a million documents never sit in memory at once; :func:`stream_tuples` does the same for the
  hot paths with plain driver tuples and no per-row Python work (on PostgreSQL streamed by a
  thread: :mod:`hub.reconcile.background`).
- :func:`key_order` orders a text key the way Python compares strings (code point order): binary
  on SQLite; on PostgreSQL the database's own order when it is code point order (``C``,
  ``C.UTF-8``), else ``COLLATE "C"``.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from itertools import chain
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from hub.db.readers import read_only
from hub.db.sql import exact_decimal, raw_columns
from hub.db.models import Organisation, OrganisationMapping
from hub.reconcile import batches
from hub.reconcile.background import StreamedRows
from hub.reconcile.batches import Choice, Reading

__all__ = ["read_only", "stream", "stream_tuples", "partitions", "key_order", "key_collation",
           "estimated_rows", "stream_reading", "Lookups", "STREAM_BATCH", "raw_columns",
           "exact_decimal", "as_date"]

#: Rows fetched per round trip when streaming.
STREAM_BATCH = 5_000
#: Rows fetched per call from SQLite, at most (see :func:`stream_tuples`).
SQLITE_BATCH = 1_000
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
    :class:`~hub.reconcile.background.BackgroundRows`)."""
    def read(conn: Connection) -> Iterable[list]:
        result = conn.execute(statement, execution_options=_STREAM)
        return result.partitions(batch)

    return read


def stream_tuples(conn: Connection, statement: Any, batch: int = STREAM_BATCH,
                  server_cursor: Choice = True) -> Iterable[tuple]:
    """Plain tuples of ``statement`` straight from the driver, ``batch`` at a time.

    For the hot paths: rows skip SQLAlchemy's per-row processing, and the iterator is built
    from C parts only (no Python frame per row). Select :func:`raw_columns` (or run a text
    statement) so the values need no type processing either; bound parameters must be values
    the driver adapts itself (text, numbers, dates).

    On PostgreSQL a :class:`~hub.reconcile.background.StreamedRows`, read as
    ``server_cursor`` says (:class:`~hub.reconcile.batches.Reading`; ``True``: through a
    server-side cursor, ``False``: as one query's rows): ``conn`` is busy until the stream has
    ended (ask other statements on another connection meanwhile, see
    :class:`~hub.reconcile.background.LookupConnection`), and a reader that stops early may
    close it (closing ``conn`` does too).
    """
    if conn.dialect.name != "sqlite":
        return StreamedRows(conn, statement, batch, server_cursor)
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


def estimated_rows(conn: Connection, table: str, engine: Engine | None = None) -> float:
    """The PostgreSQL planner's estimate of ``table``'s rows (``pg_class.reltuples``, kept by
    ANALYZE and autovacuum; -1 before either has run): a question that reads no table.

    With ``engine``, the database's collation (:func:`key_collation`) is learnt in the same
    round trip when it is not known yet: a stream asks both before its query, whose first
    row a report waits for (issue #21)."""
    url = engine.url.render_as_string(hide_password=True) if engine is not None else None
    if url is None or url in _collation_of:
        estimate = conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE oid = %(table)s::regclass", {"table": table}
        ).scalar()
        return float(estimate or 0)
    estimate, collation = conn.exec_driver_sql(
        f"SELECT (SELECT reltuples FROM pg_class WHERE oid = %(table)s::regclass), "
        f"({_COLLATION})", {"table": table}).one()
    _collation_of[url] = str(collation or "").lower() in _CODEPOINT_COLLATIONS
    return float(estimate or 0)


def stream_reading(conn: Connection, table: str, engine: Engine,
                   index_order: bool = True) -> Reading:
    """How to stream a statement over ``table`` in key order on PostgreSQL
    (:class:`~hub.reconcile.batches.Reading`): as one query planned for all its rows while the
    table is small by the planner's estimate (under :data:`~hub.reconcile.batches.
    LARGE_FROM`); else in the key's index order when the database orders keys by code point
    (an index on the key is then in the order the comparison needs) and ``index_order``
    allows it; else through a cursor planned for its first rows (the key ordered ``COLLATE
    "C"``, which no index gives, or a statement that keeps few of the table's rows: a
    filtered report, whose planner may do better than walk the whole index). One question:
    the estimate, and the collation if it is not known yet."""
    if estimated_rows(conn, table, engine) < batches.LARGE_FROM:
        return Reading.QUERY
    if index_order and key_collation(engine, conn) is None:
        return Reading.INDEX_ORDER
    return Reading.CURSOR


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
