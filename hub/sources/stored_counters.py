"""Counters over the hub's STORED facts: assets, contacts and usage snapshots.

Pulls (:mod:`hub.sources.pulling`) store what every connector finds; billing asks the counter hooks how
many devices, users or licences an organisation had. This built-in answers from those stored
rows, so a count never calls a vendor during a billing run, and each :class:`CountedItem` names
the row that made it (``asset:17``, ``contact:5``, ``usage:pax8:sub-9`` — a subscription keeps
its ref from month to month): that is the line provenance.

Rows marked ``deleted_at_source`` are never counted: a device removed at its RMM stops being
billed at the next preview after the pull that noticed it.

Who counts what (never twice)
-----------------------------
The counter hooks are **collect** hooks called once per connection, and every answer is summed.
The rule that keeps one device from being counted twice:

0. The caller names the database: counter hooks are called inside
   ``with counting_from(engine):`` (outside it this counter refuses, loudly).
1. A call for connection ``C`` counts the stored rows whose ``source`` is ``C.name`` —
   **unless** ``C`` counts live at its source. A connection counts live when its settings model
   has a true ``count_live`` field (NinjaOne, Autotask and Pax8 offer it, off by default). Both
   sides read that one flag: the connector's own counter answers only when it is on, this one only
   when it is off, so for any connection exactly one of them answers.
2. Rows entered by hand (``source`` is ``None``) belong to no connection; they are counted only
   when the hook is called with the hub's own pseudo-connection, :func:`hub_connection` (plugin
   ``"hub"``). The billing run makes that call once, next to the per-connection calls.

A source that holds no row at all for the organisation answers ``None`` (it knows nothing of
it, as the hookspecs ask); one that holds rows but none matching answers an empty ``Counted``.

Filters (``CountQuery.filters``) are described and matched in :mod:`hub.sources.count_filters`;
an unknown key is refused with :class:`hub.errors.ValidationFailed`, never ignored.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from decimal import Decimal
from typing import Any, Iterable, Iterator, Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from hub.contract.connections import Connection
from hub.contract.records import Counted, CountedItem, CountQuery
from hub.errors import PluginError, ValidationFailed
from hub.contract.hookspecs import hookimpl
from hub.sources.stored_prefetch import PREFETCHED, prefetching
from hub.sources.count_filters import (
    FILTER_COLUMNS, attributes_match, column_conditions, columns_match, comparable_in_python,
    split_filters, OUT_OF_SERVICE_ASSET_STATUSES,
)

__all__ = ["hub_connection", "HUB_PLUGIN", "counting_from", "prefetching", "counts_live",
           "count_stored",
           "hub_count_assets", "hub_count_licensed_users", "hub_fetch_vendor_usage",
           "hub_count_many"]

#: Plugin name of the hub's own pseudo-connection (rows with no source).
HUB_PLUGIN = "hub"

_ASSET_COLUMNS = FILTER_COLUMNS["assets"]
_CONTACT_COLUMNS = FILTER_COLUMNS["users"]
_USAGE_COLUMNS = FILTER_COLUMNS["usage"]


class _NoSettings(BaseModel):
    # defer_build: made at every start with this plugin, used only by a billing run (issue #21)
    model_config = ConfigDict(extra="forbid", defer_build=True)


def hub_connection(name: str = "hub") -> Connection:
    """The pseudo-connection that asks for rows entered by hand (``source`` is ``None``)."""
    return Connection(name=name, plugin=HUB_PLUGIN, settings=_NoSettings())


# Hooks receive only a Connection (no database handle crosses the plugin boundary), so the host
# names the database for the duration of a count with :func:`counting_from`.
_ENGINE: ContextVar[Any | None] = ContextVar("hub_stored_counter_engine", default=None)


@contextmanager
def counting_from(engine: Any) -> Iterator[None]:
    """Within this block the stored counter reads ``engine``. The billing run wraps its counter
    hook calls in it; outside it the stored counter refuses to answer (see :func:`_engine`)."""
    token = _ENGINE.set(engine)
    try:
        yield
    finally:
        _ENGINE.reset(token)


def counts_live(connection: Connection) -> bool:
    """True when ``connection`` answers the counter hooks from its source (``count_live``)."""
    settings = connection.settings
    fields = getattr(type(settings), "__pydantic_fields__", None)
    # Fast path (asked twice per counter line): a pydantic model with no such field, class
    # attribute or extra value has none; a missing attribute is slow to ask pydantic for.
    if (fields is not None and "count_live" not in fields
            and not hasattr(type(settings), "count_live")
            and not getattr(settings, "__pydantic_extra__", None)):
        return False
    return bool(getattr(settings, "count_live", False))


def _source_clause(model: Any, connection: Connection):
    if connection.plugin == HUB_PLUGIN:
        return model.source.is_(None)
    return model.source == connection.name


def _engine() -> Any:
    engine = _ENGINE.get()
    if engine is None:
        # Answering None here would bill zero devices without a word: refuse loudly instead.
        raise PluginError("the stored counter was called without a database",
                          hint="call the counter hooks inside "
                               "`with hub.sources.stored_counters.counting_from(engine):`")
    return engine


def _should_answer(connection: Connection) -> bool:
    return connection.plugin == HUB_PLUGIN or not counts_live(connection)


def _quantity_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _stored_rows(model: Any, connection: Connection, organisation_id: int,
                 column_filters: Mapping[str, Any], sql_conditions: Any = tuple,
                 keep: Any = None) -> tuple[list[Any], Any]:
    """Not-deleted rows of ``connection``'s source for the organisation matching the column
    filters (``sql_conditions()`` / ``keep`` add one more condition, in SQL and in Python;
    the SQL is built only when it is used: building expressions per line is not free),
    ordered by id, and a function telling whether the source holds any row at all for it."""
    prefetched = PREFETCHED.get()
    every = None
    if prefetched is not None and prefetched.covers(organisation_id, _ENGINE.get()):
        every = prefetched.grouped(model).get((organisation_id, _source_of(connection)), [])
    if every is not None:
        if not every:  # most calls: this source holds nothing for the organisation
            return [], _holds_nothing
        if comparable_in_python(column_filters):
            return _matching(every, column_filters, keep), _holds_something
    from sqlmodel import Session, select  # see stored_prefetch.Prefetched._load

    engine = _engine()
    with Session(engine) as session:
        rows = list(session.exec(
            select(model).where(
                model.organisation_id == organisation_id,
                model.deleted_at_source.is_(None),
                _source_clause(model, connection),
                *sql_conditions(),
                *column_conditions(model, column_filters),
            ).order_by(model.id)).all())

    def known() -> bool:
        with Session(engine) as session:
            return session.exec(select(model.id).where(
                model.organisation_id == organisation_id,
                _source_clause(model, connection)).limit(1)).first() is not None

    return rows, known


def _matching(every: list[Any], column_filters: Mapping[str, Any], keep: Any) -> list[Any]:
    """The prefetched rows not deleted at source that match the column filters and ``keep``."""
    return [row for row in every if row.deleted_at_source is None
            and (not column_filters or columns_match(row, column_filters))
            and (keep is None or keep(row))]


def _source_of(connection: Connection) -> str | None:
    """The ``source`` of the rows a connection counts (``None``: entered by hand)."""
    return None if connection.plugin == HUB_PLUGIN else connection.name


def _holds_nothing() -> bool:
    return False


def _holds_something() -> bool:
    return True


@lru_cache(maxsize=None)
def _models() -> tuple[Any, Any, Any]:
    """Asset, Contact and UsageSnapshot, imported on first use (see hub.sources.stored_prefetch.Prefetched._load) and
    then looked up once per count instead of an import statement per count."""
    from hub.db.models import Asset, Contact, UsageSnapshot

    return Asset, Contact, UsageSnapshot


def _answer(connection: Connection, items: tuple[CountedItem, ...], known: Any
            ) -> Counted | None:
    """The answer, or ``None`` when this source holds nothing at all for the organisation (it
    "knows nothing of it", as the hookspecs put it) — zero matching rows is still an answer."""
    if not items and not known():
        return None
    return Counted(source=connection.name, items=items)


#: Per kind of count: the index of its model in _models(), its filter columns and its noun.
_KINDS = {"assets": (0, _ASSET_COLUMNS, "asset"), "users": (1, _CONTACT_COLUMNS, "user"),
          "usage": (2, _USAGE_COLUMNS, "usage")}


def _filters_of(query: CountQuery) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The query's column and ``attributes.*`` filters; what its counter does not understand
    is refused (:class:`ValidationFailed`)."""
    _, columns, noun = _KINDS[query.kind]
    column_filters, attribute_filters = split_filters(query.filters, columns, noun)
    if attribute_filters and query.kind == "usage":
        raise ValidationFailed("usage counters take no attributes.* filters",
                               hint="filter usage on sku or tenant_external_id")
    return column_filters, attribute_filters


def _selection(query: CountQuery, column_filters: Mapping[str, Any]) -> tuple[Any, Any]:
    """What a count keeps besides its filters, in SQL (a function making the conditions: they
    are built only when used) and in Python (:func:`_kept`): devices in service only unless a
    ``status`` is asked for, never retired ones; usage whose period overlaps the query's."""
    keep = _kept(query, column_filters)
    if query.kind == "assets" and "status" not in column_filters:
        Asset = _models()[0]
        return (lambda: (Asset.status.not_in(OUT_OF_SERVICE_ASSET_STATUSES),)), keep
    if query.kind == "usage":
        UsageSnapshot = _models()[2]
        start, end = query.period_start, query.period_end
        return (lambda: (UsageSnapshot.period_start <= end,
                         UsageSnapshot.period_end >= start)), keep
    return tuple, keep


def _kept(query: CountQuery, column_filters: Mapping[str, Any]) -> Any:
    """The Python half of :func:`_selection` alone (a prefetched chunk needs no SQL)."""
    if query.kind == "assets":
        return None if "status" in column_filters else _in_service
    if query.kind == "usage":
        start, end = query.period_start, query.period_end
        return lambda row: row.period_start <= end and row.period_end >= start
    return None


def _in_service(row: Any) -> bool:
    return row.status not in OUT_OF_SERVICE_ASSET_STATUSES


def _items(kind: str, rows: Iterable[Any], attribute_filters: Mapping[str, Any]
           ) -> tuple[CountedItem, ...]:
    """One item per row that holds the ``attributes.*`` filters (usage takes none)."""
    if kind == "usage":
        # The ref names the subscription, not the month's snapshot row, so the same licence
        # keeps its identity from one invoice to the next and a per-line change says only what
        # changed.
        return tuple(CountedItem(ref=f"usage:{row.source}:{row.external_id}",
                                 label=row.description or f"{row.sku} ({row.tenant_external_id})",
                                 quantity=_quantity_text(row.quantity))
                     for row in rows)
    prefix = "asset:" if kind == "assets" else "contact:"
    return tuple(CountedItem(ref=f"{prefix}{row.id}", label=row.name) for row in rows
                 if not attribute_filters or attributes_match(row.attributes, attribute_filters))


def _count_one(connection: Connection, query: CountQuery) -> Counted | None:
    """One query answered (the connection is one this counter answers for)."""
    column_filters, attribute_filters = _filters_of(query)
    sql_conditions, keep = _selection(query, column_filters)
    rows, known = _stored_rows(_models()[_KINDS[query.kind][0]], connection,
                               query.organisation_id, column_filters, sql_conditions, keep)
    return _answer(connection, _items(query.kind, rows, attribute_filters), known)


def _answering(connection: Connection) -> bool:
    """Whether this counter answers for ``connection``; refuses loudly without a database."""
    if not _should_answer(connection):
        return False
    _engine()
    return True


def _count(connection: Connection, query: CountQuery) -> Counted | None:
    return _count_one(connection, query) if _answering(connection) else None


@hookimpl(trylast=True)
def hub_count_assets(connection: Connection, query: CountQuery) -> Counted | None:
    """Stored, not-deleted assets of the organisation matching the filters (see module doc)."""
    return _count(connection, query)


@hookimpl(trylast=True)
def hub_count_licensed_users(connection: Connection, query: CountQuery) -> Counted | None:
    """Stored, not-deleted contacts of the organisation matching the filters."""
    return _count(connection, query)


@hookimpl(trylast=True)
def hub_fetch_vendor_usage(connection: Connection, query: CountQuery) -> Counted | None:
    """Stored usage snapshots of the organisation for ``filters["sku"]`` whose period overlaps
    the query's period; one item per snapshot, its quantity the licence or usage count."""
    return _count(connection, query)


@hookimpl(trylast=True)
def hub_count_many(connection: Connection, queries: Sequence[CountQuery]
                   ) -> list[Counted | None] | None:
    """Every query answered as its per-query hook would (a billing run asks a whole chunk of
    counter lines at once, which spares one hook call per line and connection)."""
    if not _answering(connection):
        return None
    prefetched = PREFETCHED.get()
    if prefetched is None or prefetched.engine is not _ENGINE.get():
        return [_count_one(connection, query) for query in queries]
    # The chunk's rows are prefetched: each query is answered from them here, in one loop (a
    # run asks three counter lines per organisation and connection).
    source, covered, models = _source_of(connection), prefetched.organisation_ids, _models()
    name = connection.name
    tables: dict[str, Any] = {}  # each kind's grouped rows, read when first asked
    answers: list[Counted | None] = []
    for query in queries:
        kind, organisation_id = query.kind, query.organisation_id
        if organisation_id in covered:
            grouped = tables.get(kind)
            if grouped is None:
                grouped = tables[kind] = prefetched.grouped(models[_KINDS[kind][0]])
            every = grouped.get((organisation_id, source))
            if every is None:
                # this source knows nothing of the organisation (a billing run's lines had
                # their filters checked by the same rules before they were counted:
                # hub.validation.fields.check_filters)
                answers.append(None)
                continue
            column_filters, attribute_filters = _filters_of(query)
            if comparable_in_python(column_filters):
                rows = _matching(every, column_filters, _kept(query, column_filters))
                answers.append(Counted(source=name,
                                       items=_items(kind, rows, attribute_filters)))
                continue
        answers.append(_count_one(connection, query))  # asked of the database
    return answers


def count_stored(engine: Any, connections: Iterable[Connection], query: CountQuery,
                 ) -> list[Counted]:
    """Answer ``query`` from stored rows for these connections plus hand-entered rows.

    A convenience for callers without a plugin host (tests, the reconcile CLI): it applies the
    same rule as the hooks, so its answer equals the stored counter's part of a billing count.
    """
    hook = {"assets": hub_count_assets, "users": hub_count_licensed_users,
            "usage": hub_fetch_vendor_usage}[query.kind]
    answers = []
    with counting_from(engine):
        for connection in [hub_connection(), *connections]:
            answer = hook(connection=connection, query=query)
            if answer is not None:
                answers.append(answer)
    return answers
