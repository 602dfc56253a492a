"""Reading one statement's rows on PostgreSQL in batches (:func:`stream_batches`): through a
server-side cursor, planned for its first rows, or as one query whose rows the server sends in
chunks as it makes them. The threaded readers of :mod:`hub.reconcile.background` hand these
batches over."""

from __future__ import annotations

from itertools import islice
from typing import Any, Iterator

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

__all__ = ["stream_batches", "FIRST_BATCH", "STREAM_CHUNK", "CURSOR_FROM"]

#: Rows of a stream's first batch; each next one is twice as large, up to the stream's batch:
#: the comparison starts on the first rows instead of waiting for a whole batch.
FIRST_BATCH = 500
#: Rows (the planner's estimate for a table) from which a stream that may choose goes through
#: a server-side cursor rather than as one query's rows (:func:`stream_batches`). As one
#: query, the server of a join in key order joins and sorts every row before it sends the
#: first: at 10,000 documents that is the quickest way (41 to 44 against 47 to 48 ms, best
#: of 15 and 20), but from 100,000 on the comparison waits idle meanwhile, while a cursor's
#: plan sends rows at once, and psycopg hands a stream's rows over one Python call each
#: (287 against 244 ms at 100,000; 3.00 against 2.53 s at a million; issue #21).
CURSOR_FROM = 50_000
#: Rows per message the server sends a stream in (libpq's chunked rows mode): 1,000 read a
#: 10,000-document report faster than 5,000 or 200 (issue #21).
STREAM_CHUNK = 1_000


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
                   server_cursor: bool = True) -> Iterator[tuple[list[tuple], bool]]:
    """The rows of ``statement`` on PostgreSQL as ``(rows, ended)``: :data:`FIRST_BATCH`
    rows, then twice as many each time up to ``batch``.

    ``server_cursor`` (the default): through a server-side cursor (``DECLARE``, then a
    ``FETCH`` per batch), planned for its first rows, so that they come at once rather than
    after a sort of every row; the driver builds each batch's rows in C. ``conn`` is free
    between two batches.

    Else one query whose rows the server sends as it produces them (psycopg's
    ``Cursor.stream``), as plain tuples: no round trip per batch, the query is planned for
    all its rows, but psycopg hands rows over one Python call each; quicker for a small
    result (see :data:`CURSOR_FROM`). ``conn`` is busy until the batch that says ``ended``
    (psycopg holds its lock throughout); closing this generator before then cancels the
    query. The driver's errors are raised as SQLAlchemy raises them."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        if server_cursor:
            yield from _cursor_batches(conn, statement, batch)
        else:
            yield from _query_batches(conn, statement, batch)
    except dbapi.Error as exc:  # the driver's own: SQLAlchemy's are raised as they are
        raise DBAPIError.instance(str(statement), None, exc, dbapi.Error,
                                  dialect=conn.dialect) from None


def _query_batches(conn: Connection, statement: Any, batch: int
                   ) -> Iterator[tuple[list[tuple], bool]]:
    """:func:`stream_batches` as one query's rows (psycopg's ``Cursor.stream``)."""
    sql, params = _driver_statement(conn, statement)
    rows = conn.connection.driver_connection.cursor().stream(sql, params, size=_chunk_rows())
    try:
        size = min(batch, FIRST_BATCH)
        while True:
            taken = list(islice(rows, size))
            if len(taken) < size:
                yield taken, True
                return
            yield taken, False
            size = min(batch, 2 * size)
    finally:
        rows.close()
