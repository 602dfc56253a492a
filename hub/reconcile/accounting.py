"""Section *accounting*: the hub's invoices, credit notes and payments against each accounting
connection (``hub_fetch_external_documents``).

For every accounting connection and document kind, two streams are merge-joined on the
document's id at that system:

- the hub's documents linked to it (:class:`~hub.db.models.ExternalLink`), read in key order;
- the plugin's documents, put in key order in bounded memory (:func:`sorted_stream`).

A matched pair is compared for currency, total, lines (when the plugin gives them), and status
class (void / paid / open). A plugin document the hub has no link for is either a document the
hub pushed but never recorded (its ``hub_id`` or number names an unlinked hub document), a
linked hub document outside the filters (compared anyway when it passes the organisation
filter), or something recorded only in accounting — for payments, money the ledger never saw.
Last, the hub's documents that should be in accounting and have no link are reported missing,
with the outbox's word on why and the command that pushes them again.

Cost: an agreeing pair costs a few comparisons on plain driver tuples, inside the merge join's
own loop (:func:`_compare`); everything a difference needs (the whole document, its link,
outbox row, failed job) is read in batches of :data:`_BATCH` differences, one query each, so a
million documents with thousands of differences take a few thousand round trips, not
millions. The missing documents come in the hub's stream's own pass on PostgreSQL (its
tail), or from an anti-join run in the background while the streams are compared
(:class:`_MissingRows`); the stream and the lookups share one connection.

What plugins return (``ExternalDocument``): ``external_id``; ``hub_id`` and ``number`` when the
system keeps them; ``organisation_ref`` (the customer's id there, as in ``OrganisationMapping``);
``date``; ``total`` (tax included; for a payment its amount); ``status`` in the system's own
word (``AUTHORISED``, ``PAID``, ``VOIDED``, ``DELETED``, ...); optionally
``attributes["lines"]`` = ``[{"quantity": "2", "amount": "100.00", "description": ...}]`` with
amounts before tax.
"""

from __future__ import annotations

import logging
import threading
from contextlib import closing
from itertools import chain, islice
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from sqlalchemy.engine import Connection, Engine

from hub.db.models import ExternalLink
from hub.errors import PluginError
from hub.host.gc_pacing import bulk_allocations
from hub.reconcile.core import Difference, Options, Progress
from hub.reconcile.documents import OtherDoc, status_class
from hub.reconcile.background import BackgroundRows, LookupConnection, StreamedRows
from hub.reconcile.batches import Reading
from hub.reconcile.reading import (
    STREAM_BATCH, exact_decimal, key_collation, partitions, read_only, stream_reading,
    stream_tuples,
)
from hub.reconcile.accounting_differences import AccountingComparer
from hub.reconcile.accounting_kinds import BATCH as _BATCH, KINDS, SECTION, DocumentKind
from hub.reconcile.accounting_sql import AccountingSQL
from hub.reconcile.streams import order_error, read_ahead, sorted_stream, unique_by_key

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["run", "KINDS", "DocumentKind", "compare_kind"]

log = logging.getLogger("hub.reconcile")

#: Hub documents compared before the missing-documents query starts in the background on
#: SQLite (see :class:`_MissingRows`): at once. The anti-join runs in the driver's C code
#: with the GIL released (the thread asks for ids only, a few thousand per row), so on a
#: second core it overlaps the comparison (issue #21: a 10,000-document report took 55 ms
#: with the query read afterwards, 50 ms with it in the background, best of 15 each).
BACKGROUND_AFTER = 0


def run(ctx: "HubContext", options: Options, progress: Progress) -> Iterator[Difference]:
    """Every accounting connection (or ``options.connection``), every document kind."""
    for connection in ctx.connections("accounting"):
        if options.connection and connection.name != options.connection:
            continue
        for kind in KINDS.values():
            progress.start(SECTION, f"{connection.name}: {kind.label}s")
            # `since` is not passed on: accounting systems read it as "modified since" (Xero's
            # If-Modified-Since), which would make every unchanged document look gone. The
            # window is applied here, by document date, on both sides.
            documents = ctx.plugins.hook.hub_fetch_external_documents(
                connection=connection, kind=kind.name, since=None, until=options.until)
            if documents is None:
                raise PluginError(f"connection {connection.name!r} ({connection.plugin}) cannot "
                                  f"list {kind.label}s for reconciliation",
                                  hint="update its plugin, or reconcile other connections with "
                                       "--connection")
            others = (OtherDoc.of(d) for d in documents if d.kind == kind.name)
            yield from compare_kind(ctx.engine, connection.name, kind, others, options, progress)


def hub_stream(lookup: LookupConnection, reader: Engine, engine: Engine, sql: AccountingSQL,
               missing: "_MissingRows") -> Iterable[tuple]:
    """The hub's documents of ``sql``'s kind linked to its connection, in external-id order, as
    ``(external id, total, status, currency)`` tuples straight from the driver: the hot path
    of a million-document run reads, builds and converts nothing more for a document that
    agrees (the rest of a differing one is read by key in batches, see
    :meth:`AccountingComparer.resolve`). On SQLite read on ``lookup``'s connection; on
    PostgreSQL streamed on a connection of the stream's own (:class:`StreamedRows`), with
    ``missing``'s documents as its tail when it goes as one query planned for all its rows
    (``Reading.QUERY``: the links are few)."""
    if reader.url.get_backend_name() == "sqlite":
        conn = lookup()
        return stream_tuples(conn, sql.hub_stream(key_collation(engine, conn)))

    def with_tail(conn: Connection, reading: Reading) -> Any:
        # As one query planned for all its rows, the documents missing at the other side come
        # in the same pass, last (see _MissingRows); read in the key's order as the server
        # finds it (a large report), they are read in the background on a connection of
        # their own.
        if reading is not Reading.QUERY:
            missing.start()
            return None
        return sql.hub_stream_with_missing()

    # one query while the links are few; from LARGE_FROM on read in the links' index order,
    # or through a cursor for a filtered report or keys no index orders (see stream_reading)
    return StreamedRows(reader, lambda conn: sql.hub_stream(key_collation(engine, conn)),
                        STREAM_BATCH, server_cursor=lambda conn: stream_reading(
                            conn, ExternalLink.__table__.name, engine,
                            index_order=not sql.filters()),
                        with_tail=with_tail)


def compare_kind(engine: Engine, connection: str, kind: DocumentKind,
                 others: Iterable[OtherDoc], options: Options,
                 progress: Progress, *, presorted: bool = False) -> Iterator[Difference]:
    """Reconcile the hub's documents of ``kind`` with ``others`` (see module docstring).

    ``presorted`` says ``others`` already come in key order, one per key (a table read in key
    order); otherwise they are sorted here in bounded memory and repeats are dropped.
    """
    # bulk_allocations: a pair allocates a few tuples and strings, all freed at once by
    # reference counting; the default pacing (a collection every 700) rescans the heap
    # throughout, which was a third of a 10,000-document run
    with bulk_allocations(), read_only(engine) as reader, \
            closing(LookupConnection(reader)) as lookup:
        # One connection for the hub's stream and, once it has ended, the batched lookups of
        # differences (each new connection costs: on SQLite it parses the whole schema, on
        # PostgreSQL it is a new server process). SQLite steps through the stream's rows on demand, and other
        # statements may run between two steps. On PostgreSQL the stream's thread makes the
        # connection (while this one reads the other side) and holds it until the last row:
        # differences found before then (a batch of them: a large report) are looked up on a
        # second connection.
        comparer = AccountingComparer(lookup, reader, connection, kind, options)
        # The documents missing at the other side: read in the background once the report is
        # seen to be large (see _MissingRows), else afterwards on this connection.
        with _MissingRows(reader, engine, comparer) as missing:
            # a plugin's pages may overlap: sorted, its repeats are dropped (a presorted
            # source is trusted, and a repeat there stops the comparison loudly instead)
            ordered = others if presorted else unique_by_key(
                sorted_stream(others, key=_other_key), _other_key,
                on_duplicate=lambda d: log.warning("%s listed %s %s twice; compared once",
                                                   connection, kind.label, d.key))
            lookup.stream = hub_stream(lookup, reader, engine, comparer.sql, missing)
            hub_rows = (missing.started_after(lookup.stream, BACKGROUND_AFTER)
                        if reader.url.get_backend_name() == "sqlite" else lookup.stream)
            waiting = (lookup.stream.waiting if isinstance(lookup.stream, StreamedRows)
                       else None)
            yield from _compare(comparer, hub_rows, ordered, kind.absolute, progress,
                                waiting)
            yield from comparer.missing(missing.rows(lookup.stream))


def _compare(comparer: AccountingComparer, hub_rows: Iterable[tuple],
             others: Iterable[OtherDoc], absolute: bool, progress: Progress,
             hub_waiting: Callable[[], bool] | None = None) -> Iterator[Difference]:
    """Merge-join the hub's rows with the other side's documents and compare each pair.

    :func:`~hub.reconcile.streams.merge_join` with the comparison written into its loop: this
    runs once per document on both sides of a million-document report, and a pair that agrees
    (nearly all) then costs a few comparisons and no object at all. The order checks are
    merge_join's (a key repeated or out of order on either side is a
    :class:`~hub.reconcile.streams.StreamOrderError`). Hub rows are ``(key, total, status,
    currency)``; an :class:`OtherDoc` is indexed directly (0 key, 6 currency, 7 total,
    8 status, 9 lines).
    """
    hub_iter, other_iter = iter(hub_rows), iter(others)
    # the other side first: on PostgreSQL the hub's query runs meanwhile (StreamedRows)
    other = next(other_iter, None)
    if hub_waiting is not None and other is not None:
        other_iter = read_ahead(other_iter, hub_waiting)
    hub = next(hub_iter, None)
    # An exhausted side's key is _END, greater than every key: the loop then needs no test
    # for an exhausted side (comparing a key with _END runs Python code, at the tail only).
    hub_key = hub[0] if hub is not None else _END
    other_key = other[0] if other is not None else _END
    strays: list[OtherDoc] = []
    unequal: list[tuple[tuple, OtherDoc | None]] = []
    seen = 0
    # the status words of the last pair compared: consecutive documents mostly share them
    hub_status = other_status = None
    same_status = True
    # Advancing a side is written out where it happens (not a helper): a call per document
    # was a measurable share of the loop (issue #21).
    while True:
        seen += 1
        if seen == 1000:
            progress.advance(seen)
            seen = 0
        if hub_key == other_key:
            if hub_key is _END:
                break
            # the common case, inline: same total, currency and status class, no lines
            total = hub[1]
            if total.__class__ is str:  # SQLite keeps exact amounts as canonical text
                total = Decimal(total)
            elif total.__class__ is not Decimal:
                total = exact_decimal(total)
            other_total = other[7]
            if absolute and other_total is not None:
                total, other_total = abs(total), abs(other_total)
            if hub[2] != hub_status or other[8] != other_status:
                hub_status, other_status = hub[2], other[8]
                same_status = status_class(hub_status) == status_class(other_status)
            if not (total == other_total and hub[3] == other[6] and other[9] is None
                    and same_status):
                unequal.append((hub, other))  # read whole and compared in batches
                if len(unequal) >= _BATCH:
                    yield from comparer.resolve(unequal)
                    unequal = []
            hub = next(hub_iter, None)
            if hub is None:
                hub_key = _END
            else:
                key = hub[0]
                if not hub_key < key:
                    order_error("left", key, hub_key)
                hub_key = key
            other = next(other_iter, None)
            if other is None:
                other_key = _END
            else:
                key = other[0]
                if not other_key < key:
                    order_error("right", key, other_key)
                other_key = key
        elif hub_key < other_key:
            unequal.append((hub, None))  # gone from the other side: read whole in batches
            if len(unequal) >= _BATCH:
                yield from comparer.resolve(unequal)
                unequal = []
            hub = next(hub_iter, None)
            if hub is None:
                hub_key = _END
            else:
                key = hub[0]
                if not hub_key < key:
                    order_error("left", key, hub_key)
                hub_key = key
        else:
            strays.append(other)  # looked up in batches: one round trip per batch
            if len(strays) >= _BATCH:
                yield from comparer.strays(strays)
                strays = []
            other = next(other_iter, None)
            if other is None:
                other_key = _END
            else:
                key = other[0]
                if not other_key < key:
                    order_error("right", key, other_key)
                other_key = key
    seen -= 1  # the last turn found both sides exhausted
    progress.advance(seen)
    yield from comparer.resolve(unequal)
    yield from comparer.strays(strays)
    yield from comparer.flush_lines()


class _Last:
    """The key of an exhausted side: greater than every key, equal only to itself."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return other is self

    def __ne__(self, other: object) -> bool:
        return other is not self

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return other is not self

    __hash__ = object.__hash__


_END = _Last()


class _MissingRows:
    """The documents missing at the other side: the rows of an anti-join over every document,
    whose time is spent in the database, read while the streams are compared.

    On PostgreSQL, while the hub's stream is one query (its links are few, see
    :data:`~hub.reconcile.batches.LARGE_FROM`), they come in that query's own pass, after
    its linked documents (:meth:`~hub.reconcile.accounting_sql.AccountingSQL.
    hub_stream_with_missing`, the stream's :meth:`~hub.reconcile.background.StreamedRows.tail`):
    a join and an anti-join over the same tables were two passes, in two server processes,
    and the second one's connection, thread and query were a tenth of a 10,000-document
    report (issue #21). For a large report (its stream read in the key's order as the server
    finds the rows, or through a cursor: :func:`~hub.reconcile.reading.stream_reading`), the
    stream's thread starts the anti-join (:meth:`start`) in the background on a connection of
    its own: the server runs it while the streams are compared.

    On SQLite the query runs in the driver's C code, which lets go of the GIL while the
    database steps through it: started by :meth:`started_after`, a thread reads only the ids,
    a few thousand per row (a thread given one row per document needs the GIL back for each,
    waits for the comparison to let go of it every time, and made a million-document report
    twice as slow); the documents are then read here by id. An in-memory SQLite database (one
    connection, one thread) is read afterwards.
    """

    def __init__(self, reader: Engine, engine: Engine, comparer: AccountingComparer) -> None:
        self._reader, self._engine, self._comparer = reader, engine, comparer
        self._background: BackgroundRows | None = None
        # start() is called by the stream's thread, which may still be choosing when the
        # report ends early (a plugin's error on its first page): nothing starts after that
        self._lock = threading.Lock()
        self._closed = False

    def started_after(self, rows: Iterable[tuple], count: int) -> Iterator[tuple]:
        """``rows`` unchanged; on SQLite the background query starts when ``count`` of them
        are read and more follow (``0``: now). Built from C parts (no Python frame per row):
        ``chain`` asks for its second iterable only when the first ``count`` rows are
        consumed."""
        if count <= 0:
            self._start_ids()
            return iter(rows)
        rows = iter(rows)
        return chain(islice(rows, count), _Then(self._start_ids, rows))

    def _start_ids(self) -> None:
        if self._reader is not self._engine:
            self._background = BackgroundRows(self._reader, self._comparer.missing_ids)

    def start(self) -> None:
        """Read the missing documents in the background (PostgreSQL, a large report's
        stream): called by the stream's thread once it has chosen; nothing once closed."""
        with self._lock:
            if not self._closed:
                self._background = BackgroundRows(
                    self._reader, partitions(self._comparer.missing_statement()))

    def rows(self, stream: Iterable[tuple]) -> Iterable | None:
        """The missing documents' rows as :meth:`~hub.reconcile.accounting_sql.AccountingSQL.
        missing` gives them, or ``None`` when nothing has read them (read them on the report's
        connection then). Ask once the hub's ``stream`` (whose tail may hold them) has been
        read to its end."""
        if isinstance(stream, StreamedRows) and stream.has_tail:
            # (None, total, status, currency, id, number, organisation, date), few rows
            return (("", r[4], r[5], r[6], r[3], r[1], r[2], r[7]) for r in stream.tail())
        if self._background is None:
            return None
        if self._reader.url.get_backend_name() != "sqlite":
            return self._background
        return self._comparer.rows_of_ids(self._background)

    def __enter__(self) -> "_MissingRows":
        return self

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._closed = True
        if self._background is not None:
            self._background.close()


class _Then:
    """The rest of an iterator, after calling ``start`` if anything is left."""

    def __init__(self, start: Callable[[], None], rest: Iterator[tuple]) -> None:
        self._start, self._rest = start, rest

    def __iter__(self) -> Iterator[tuple]:
        first = next(self._rest, None)
        if first is None:
            return iter(())
        self._start()
        return chain((first,), self._rest)


def _other_key(doc: OtherDoc) -> str:
    return doc.key
