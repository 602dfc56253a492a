"""Reading one statement's rows on PostgreSQL in batches (:func:`stream_batches`): through a
server-side cursor, planned for its first rows, or as one query whose rows the server sends in
chunks as it makes them (:class:`Reading`). The threaded readers of
:mod:`hub.reconcile.background` hand these batches over."""

from __future__ import annotations

from enum import Enum
from itertools import islice
from typing import Any, Iterator

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

__all__ = ["stream_batches", "Reading", "Choice", "as_reading", "FIRST_BATCH",
           "STREAM_CHUNK", "LARGE_FROM"]

#: Rows of a stream's first batch; each next one is twice as large, up to the stream's batch:
#: the comparison starts on the first rows instead of waiting for a whole batch.
FIRST_BATCH = 500
#: Rows (the planner's estimate for a table) from which a stream that may choose is read in
#: its key's index order, or through a cursor, rather than as one query planned for all its
#: rows (:class:`Reading`). Planned for all its rows, the server of a join in key order
#: joins and sorts every row before it sends the first: at 10,000 documents that is the
#: quickest way (41 to 44 against 47 to 48 ms, best of 15 and 20), but from 100,000 on the
#: comparison waits idle meanwhile (287 against 244 ms through a cursor at 100,000; 3.00
#: against 2.53 s at a million; issue #21).
LARGE_FROM = 50_000
#: Rows per message the server sends a stream in (libpq's chunked rows mode): 1,000 read a
#: 10,000-document report faster than 5,000 or 200 (issue #21).
STREAM_CHUNK = 1_000


class Reading(Enum):
    """How :func:`stream_batches` reads a statement's rows.

    - ``CURSOR``: a server-side cursor (``DECLARE``, then a ``FETCH`` per batch), planned for
      its first rows, so that they come at once rather than after a sort of every row; the
      driver builds each batch's rows in C. The connection is free between two batches, but
      the server waits while the client builds a batch, and the client while the server
      makes the next one.
    - ``QUERY``: one query whose rows the server sends as it makes them (psycopg's
      ``Cursor.stream``), planned for all its rows: no round trip per batch, but psycopg
      hands rows over one Python call each; the quickest for a small result (see
      :data:`LARGE_FROM`).
    - ``INDEX_ORDER``: one query as ``QUERY``, planned with no sort, hash or merge join and no
      parallel worker (:data:`_PLAN_IN_INDEX_ORDER`), so that the server reads in the key's
      index order and sends rows at once, while the client builds the ones before: reading
      100,000 linked documents took 102 ms this way against 177 ms through a cursor (first
      row after 5.5 ms against 68 ms as ``QUERY``; issue #21). Only for a statement whose
      order an index gives (a key ordered in the database's own collation:
      :func:`~hub.reconcile.reading.stream_reading`) and whose joins have an index on the
      inner side: without one, a nested loop scans the inner table once per row. On an
      autocommit connection, where settings would not outlive the statement that sets them,
      it is read as ``QUERY``.
    """

    CURSOR = "cursor"
    QUERY = "query"
    INDEX_ORDER = "index order"


#: The planner settings of an INDEX_ORDER statement, set in a savepoint before it and undone
#: by rolling back to that savepoint once its rows are read (or it is closed early, if its
#: transaction is still usable), which gives back whatever values they had: the
#: connection's later statements are planned as before. No parallel worker either: the
#: client paces the stream, and a worker is one more process on the machine's cores while
#: this one builds rows (100,000 documents: first quartile 236 against 246 ms). Several
#: statements in one round trip: psycopg sends a statement with no parameters by the simple
#: query protocol.
_PLANNER = {"enable_sort": "off", "enable_hashjoin": "off", "enable_mergejoin": "off",
            "max_parallel_workers_per_gather": "0"}
_SAVEPOINT = "hub_stream_in_index_order"
_PLAN_IN_INDEX_ORDER = "; ".join([f"SAVEPOINT {_SAVEPOINT}"] + [
    f"SET LOCAL {name} = {value}" for name, value in _PLANNER.items()])
_PLAN_AS_BEFORE = f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}; RELEASE SAVEPOINT {_SAVEPOINT}"


#: How a stream is to be read: a :class:`Reading`, or ``True`` (a cursor) or ``False`` (one
#: query), as callers before :class:`Reading` said it
Choice = Reading | bool


def as_reading(choice: Choice) -> Reading:
    """``choice`` as a :class:`Reading`: ``True`` is ``CURSOR``, ``False`` is ``QUERY``."""
    if isinstance(choice, Reading):
        return choice
    return Reading.CURSOR if choice else Reading.QUERY


def _driver_statement(conn: Connection, statement: Any) -> tuple[str, dict[str, Any]]:
    """``statement`` as the driver takes it: SQL text and parameters, as SQLAlchemy would
    send them on ``conn``."""
    state = statement.compile(dialect=conn.dialect).construct_expanded_state()
    processors = state.processors
    return state.statement, {name: processors[name](value) if name in processors else value
                             for name, value in state.parameters.items()}


def _cursor_batches(conn: Connection, statement: Any, batch: int
                    ) -> Iterator[tuple[list[Any], bool]]:
    """:func:`stream_batches` through a server-side cursor: the first batch through
    SQLAlchemy's result (which has fetched a row ahead into its own buffer: this drains it
    exactly, as ``Row`` objects, indexed like tuples), the next ones straight from the
    driver's cursor."""
    result = conn.execute(statement, execution_options={"stream_results": True})
    try:
        fetch = result.fetchmany
        size = min(batch, FIRST_BATCH)
        while True:
            taken = fetch(size)
            if len(taken) < size:
                result.close()  # the server's cursor, before the connection is free
                yield taken, True
                return
            yield taken, False
            fetch = result.cursor.fetchmany
            size = min(batch, 2 * size)
    finally:
        result.close()


def _chunk_rows() -> int:
    """Rows per message of a stream: :data:`STREAM_CHUNK` with libpq 17's chunked rows mode,
    else 1 (single-row mode, which every libpq has; slower, equally bounded)."""
    from psycopg import capabilities

    return STREAM_CHUNK if capabilities.has_stream_chunked() else 1


def stream_batches(conn: Connection, statement: Any, batch: int,
                   server_cursor: Choice = True) -> Iterator[tuple[list[tuple], bool]]:
    """The rows of ``statement`` on PostgreSQL as ``(rows, ended)``: :data:`FIRST_BATCH`
    rows, then twice as many each time up to ``batch``, read as ``server_cursor`` says
    (:class:`Reading`; ``True`` is ``CURSOR``, ``False`` is ``QUERY``).

    Through a cursor, ``conn`` is free between two batches. As one query, ``conn`` is busy
    until the batch that says ``ended`` (psycopg holds its lock throughout); closing this
    generator before then cancels the query, which ends the connection's transaction unless
    the server had already sent every row. The driver's errors are raised as SQLAlchemy
    raises them."""
    server_cursor = as_reading(server_cursor)
    dbapi = conn.dialect.loaded_dbapi
    try:
        if server_cursor is Reading.CURSOR:
            yield from _cursor_batches(conn, statement, batch)
        else:
            yield from _query_batches(conn, statement, batch,
                                      server_cursor is Reading.INDEX_ORDER)
    except dbapi.Error as exc:  # the driver's own: SQLAlchemy's are raised as they are
        raise DBAPIError.instance(str(statement), None, exc, dbapi.Error,
                                  dialect=conn.dialect) from None


def _query_batches(conn: Connection, statement: Any, batch: int, index_order: bool = False
                   ) -> Iterator[tuple[list[tuple], bool]]:
    """:func:`stream_batches` as one query's rows (psycopg's ``Cursor.stream``), planned to
    read in index order when ``index_order`` (:attr:`Reading.INDEX_ORDER`)."""
    from psycopg.pq import TransactionStatus

    sql, params = _driver_statement(conn, statement)
    driver = conn.connection.driver_connection
    planned = False  # True while the planner settings are those of _PLAN_IN_INDEX_ORDER
    if index_order and not driver.autocommit:
        driver.execute(_PLAN_IN_INDEX_ORDER)
        planned = True
    rows = driver.cursor().stream(sql, params, size=_chunk_rows())
    try:
        size = min(batch, FIRST_BATCH)
        while True:
            taken = list(islice(rows, size))
            if len(taken) < size:
                if planned:  # before the connection is free for other statements
                    driver.execute(_PLAN_AS_BEFORE)
                    planned = False
                yield taken, True
                return
            yield taken, False
            size = min(batch, 2 * size)
    finally:
        rows.close()
        # closed early, but its rows were all sent (a cancelled query ends the transaction,
        # and the settings with it): the connection may serve other statements
        if planned and driver.info.transaction_status == TransactionStatus.INTRANS:
            driver.execute(_PLAN_AS_BEFORE)
