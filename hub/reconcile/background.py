"""Reading the hub's database in a thread while a report compares: the database works (and the
driver waits for it with the GIL released) while this thread computes.

- :class:`StreamedRows`: one statement's rows on PostgreSQL, streamed by a thread in batches
  (the hub's side of a reconciliation);
- :class:`BackgroundRows`: any reader's batches, on a connection of the thread's own (the
  documents missing at the other side: an anti-join whose time is spent in the database);
- :class:`LookupConnection`: the connection a report asks its small lookups on, given that a
  stream holds its own connection until its last row.

Both readers hand batches over through a bounded queue (:data:`PREFETCH_BATCHES`), so memory
stays flat at any size, and stop their thread when closed.
"""

from __future__ import annotations

import queue
import threading
from bisect import bisect_left
from itertools import chain
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ResourceClosedError

from hub.reconcile.batches import Choice, Reading, as_reading, stream_batches

__all__ = ["StreamedRows", "BackgroundRows", "LookupConnection", "PREFETCH_BATCHES",
           "TAIL_HELD"]

#: Batches a reading thread may hold ahead of the comparison.
PREFETCH_BATCHES = 2
#: Rows of a stream's tail held by its thread (see :meth:`StreamedRows._hand_over_tail`).
TAIL_HELD = 5_000


def _keyless(row: tuple) -> bool:
    return row[0] is None


class _Failed:
    """An error raised by a reading thread, handed to the reader to raise."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Handover:
    """A thread's batches handed to the reader through a bounded queue (see module docstring);
    an empty batch ends them. :meth:`close` stops the thread and waits for it."""

    _thread: threading.Thread

    #: True once the reader has taken the end of the rows
    drained = False

    def __init__(self) -> None:
        self._handover: queue.Queue = queue.Queue(maxsize=PREFETCH_BATCHES)
        self._stop = threading.Event()

    def _start(self, target: Callable[[], None], name: str) -> None:
        self._thread = threading.Thread(target=target, name=name, daemon=True)
        self._thread.start()

    def _put(self, item: Any, handover: queue.Queue | None = None) -> bool:
        """Hand ``item`` over; False once the reader has stopped the thread."""
        handover = self._handover if handover is None else handover
        while not self._stop.is_set():
            try:
                handover.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _take(self, handover: queue.Queue | None = None) -> Any:
        handover = self._handover if handover is None else handover
        while True:
            try:
                item = handover.get(timeout=0.2)
                break
            except queue.Empty:
                if self._stop.is_set():  # closed: no end marker will come
                    raise ResourceClosedError("the rows were closed before their end") from None
        if isinstance(item, _Failed):
            raise item.error
        if handover is self._handover and item == []:
            self.drained = True
        return item

    def __iter__(self) -> Iterator[tuple]:
        # chain/iter run in C: no Python frame per row
        return chain.from_iterable(iter(self._take, []))

    def close(self) -> None:
        """Stop the thread (the batch it is reading is finished first) and wait for it."""
        self._stop.set()
        for handover in self._queues():
            while True:  # a thread waiting to hand a batch over sees the stop at once
                try:
                    handover.get_nowait()
                except queue.Empty:
                    break
        self._thread.join()

    def _queues(self) -> list[queue.Queue]:
        return [self._handover]

    def __enter__(self) -> "_Handover":
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()


class StreamedRows(_Handover):
    """One statement's rows on PostgreSQL, streamed by a thread
    (:func:`~hub.reconcile.batches.stream_batches`).

    The query starts at once and runs in the server while the caller does other work (reads
    the other side's first page), and the next rows arrive while these are compared.
    ``source`` is either the connection to stream on, or an engine: the thread then connects
    itself (a new PostgreSQL connection is a new server process: that too overlaps the
    caller's work), ``statement`` may be a function of that connection, and the connection
    is :attr:`connection` for other statements once the stream has ended; :meth:`close`
    closes it. ``server_cursor`` as for :func:`~hub.reconcile.batches.stream_batches`, or
    (with an engine) a function of the connection that decides (its answer is
    :attr:`reading`). ``with_tail(conn, reading)`` (with an engine) may give, once that is
    decided, a statement to stream instead, whose rows keyed ``None`` (first column), sorted
    last, are its :meth:`tail`.

    A caller's connection is busy until the stream has ended: ask other statements on another
    one meanwhile (:class:`LookupConnection`). Its rollback or commit (closing it does one)
    first stops the stream: the thread cancels the query and lets the connection go. A
    stream of one query's rows closed early is cancelled too, which ends the connection's
    transaction (unless every row had been sent): roll it back before asking anything else
    on it.
    """

    def __init__(self, source: Connection | Engine, statement: Any, batch: int,
                 server_cursor: Callable[[Connection], Choice] | Choice = True,
                 with_tail: Callable[[Connection, Reading], Any] | None = None) -> None:
        super().__init__()
        self._released = threading.Event()
        #: set once :meth:`tail` can be read without holding the connection any longer than
        #: needed: the tail has been read whole (the connection is free), or is too long to
        #: be held and comes through its own bounded queue (the connection stays busy)
        self._settled = threading.Event()
        self._tail: queue.Queue | None = None
        #: True once the stream has failed: its connection is then no use for anything else
        self.failed = False
        self.connection: Connection | None = None
        #: how the rows are read, once decided
        self.reading: Reading | None = None
        self._owned = isinstance(source, Engine)
        if self._owned:
            self._start(lambda: self._read(source, statement, batch, server_cursor, with_tail),
                        "hub-reconcile-prefetch")
            return
        self.reading = as_reading(server_cursor(source) if callable(server_cursor)
                                  else server_cursor)
        batches = stream_batches(source, statement, batch, self.reading)  # run by the thread
        if not source.in_transaction():
            source.begin()  # so that closing the connection rolls back, which stops the stream
        event.listen(source, "rollback", self._stop_on_end)
        event.listen(source, "commit", self._stop_on_end)
        self.connection = source
        self._settled.set()
        self._start(lambda: self._hand_over(batches), "hub-reconcile-prefetch")

    def waiting(self) -> bool:
        """True while no row (nor the end, nor an error) has come yet: the query is still
        running in the server."""
        return self._handover.empty() and not self._released.is_set()

    @property
    def finished(self) -> bool:
        """True once the stream has let go of its connection (last row read, or stopped)."""
        return self._released.is_set()

    def _read(self, engine: Engine, statement: Any, batch: int,
              server_cursor: Callable[[Connection], Choice] | Choice,
              with_tail: Callable[[Connection, Reading], Any] | None) -> None:
        try:
            conn = engine.connect()
        except BaseException as exc:  # handed to the reader, who raises it
            self._fail(exc)
            return
        self.connection = conn
        try:
            # the choice first: its question may answer the statement's too (estimated_rows)
            reading = self.reading = as_reading(
                server_cursor(conn) if callable(server_cursor) else server_cursor)
            made = with_tail(conn, reading) if with_tail is not None else None
            if made is not None:
                self._tail = queue.Queue(maxsize=PREFETCH_BATCHES)
            else:
                made = statement(conn) if callable(statement) else statement
                self._settled.set()
            batches = stream_batches(conn, made, batch, reading)
        except BaseException as exc:
            self._fail(exc)
            return
        if self._stop.is_set():  # closed while choosing: the query is never sent
            self._released.set()
            self._settled.set()
            return
        self._hand_over(batches)

    def _hand_over(self, batches: Iterator[tuple[list[tuple], bool]]) -> None:
        try:
            for rows, ended in batches:
                if self._tail is not None and rows and rows[-1][0] is None:
                    self._hand_over_tail(rows, ended, batches)
                    return
                if ended:  # the connection is free before the last rows are handed over
                    self._released.set()
                    if rows and not self._put(rows):
                        return
                    if self._put([]) and self._tail is not None:
                        self._settled.set()
                        self._put([], self._tail)  # no tail
                    return
                if not self._put(rows):
                    return  # stopped: closing the stream below cancels the query
        except BaseException as exc:  # handed to the reader, who raises it
            self._fail(exc)
        finally:
            batches.close()
            self._released.set()
            self._settled.set()

    def _hand_over_tail(self, rows: list[tuple], ended: bool,
                        batches: Iterator[tuple[list[tuple], bool]]) -> None:
        """The keyed rows' last part and their end, then the rows with no key (see
        :meth:`tail`): held here until the result ends (the connection is then free for the
        lookups that come before the tail is read), or, when there are more than
        :data:`TAIL_HELD`, handed over through the tail's queue as they are read."""
        cut = bisect_left(rows, True, key=_keyless)
        if (cut and not self._put(rows[:cut])) or not self._put([]):
            return
        held = rows[cut:]
        while not ended:
            if self._stop.is_set():
                return  # closed: the query is cancelled (see _hand_over)
            if len(held) >= TAIL_HELD:  # too many to hold: hand them over as they come
                self._settled.set()
                if not self._put(held, self._tail):
                    return
                held = []
            more, ended = next(batches)
            held.extend(more)
        self._released.set()
        self._settled.set()
        if held and not self._put(held, self._tail):
            return
        self._put([], self._tail)

    def tail(self) -> Iterable[tuple]:
        """The rows after the keyed ones, whose key (first column) is ``None``, of a stream
        read with ``with_tail`` (see :class:`StreamedRows`); ask once the keyed rows have been
        read to their end."""
        if self._tail is None:
            raise ResourceClosedError("this stream has no tail")
        handover = self._tail
        return chain.from_iterable(iter(lambda: self._take(handover), []))

    @property
    def has_tail(self) -> bool:
        """True when this stream reads a tail (decided by its thread before its first row)."""
        return self._tail is not None

    def settle(self) -> None:
        """Wait until the tail, if any, no longer needs this process to read it before the
        stream's connection is free (see :meth:`_hand_over_tail`). Only once the keyed rows
        have been read to their end: until then the thread may be waiting for the reader."""
        self._settled.wait()

    def _queues(self) -> list[queue.Queue]:
        return [self._handover] + ([self._tail] if self._tail is not None else [])

    def _fail(self, exc: BaseException) -> None:
        self.failed = True
        self._released.set()
        self._settled.set()
        if self._put(_Failed(exc)) and self._tail is not None:
            self._put(_Failed(exc), self._tail)

    def close(self) -> None:
        """Stop the stream (its query is cancelled), wait until its connection is free, and
        close that connection if the stream made it."""
        super().close()
        if self._owned and self.connection is not None:
            self.connection.close()

    def _stop_on_end(self, _conn: Connection) -> None:
        super().close()  # also a thread that still holds the last rows


class BackgroundRows(_Handover):
    """Batches of rows read by a thread from the moment this is made: ``read(conn)`` yields
    them (lists) from a connection to ``engine`` (see :func:`hub.reconcile.reading.partitions`).

    For a query whose time is spent inside the database (an anti-join over every document
    that returns a few rows): it runs while the caller does other work, and its batches wait
    until they are wanted. The thread connects to ``engine`` itself (on PostgreSQL a new
    connection takes as long as a small query, so that overlaps too) and closes the
    connection when done or stopped. The thread needs the GIL for each row it receives, and
    waits for it while the caller computes: a query read this way must return its rows a
    batch at a time (PostgreSQL's cursor) or few rows (SQLite).
    """

    def __init__(self, engine: Engine, read: Callable[[Connection], Iterable[list]]) -> None:
        super().__init__()

        def reader() -> None:
            try:
                with engine.connect() as conn:
                    for batch in read(conn):
                        if not self._put(batch):
                            return
                self._put([])
            except BaseException as exc:  # handed to the reader, who raises it
                self._put(_Failed(exc))

        self._start(reader, "hub-reconcile-background")


class LookupConnection:
    """The connection a report asks its small lookups on (differences read whole, outbox rows):
    the connection of its stream (:class:`StreamedRows`) once that has ended, else one of its
    own, made on first need and closed by :meth:`close` (with the stream). A report with few
    differences looks them up after its stream has ended, and needs no other connection; on
    SQLite, whose stream steps through rows between other statements, the stream is read on
    this connection too."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._own: Connection | None = None
        self.stream: Iterable[tuple] | None = None

    def __call__(self) -> Connection:
        stream = self.stream
        if isinstance(stream, StreamedRows):
            if stream.drained:
                stream.settle()  # its tail may be read to its end in a moment
            if stream.finished and not stream.failed and stream.connection is not None:
                return stream.connection
        if self._own is None:
            self._own = self._engine.connect()
        return self._own

    def close(self) -> None:
        """Stop the stream, and close the connections."""
        try:
            if isinstance(self.stream, StreamedRows):
                self.stream.close()
        finally:
            if self._own is not None:
                self._own.close()
                self._own = None
