"""Asking the counter hooks how many assets, users or licences a counter line bills.

Every hook is called once per connection: the hub's own :data:`HUB_CONNECTION` (for plugins
that count what the hub has stored, whatever connector it came from) and every enabled
connection of ``ctx.connections()``. Plugins answer with :class:`hub.contract.records.Counted`; answers
are summed across sources, a source answering twice is taken once, and an item (by ``ref``)
counted by two sources is billed once. The items become the line's provenance.

A billing run asks for a whole chunk of counter lines at once (:meth:`Counter.count_many`):
plugins implementing ``hub_count_many`` (the built-in stored counter does) answer all of them in
one call per connection; the per-query hooks are called once per line for the others.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any, Iterable, Iterator, Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from hub.contract.connections import Connection
from hub.contract.records import Counted, CountQuery
from hub.errors import PluginError

__all__ = ["HUB_CONNECTION", "CountResult", "Counter"]


class _NoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: The connection hooks receive when the hub asks about its own stored facts.
HUB_CONNECTION = Connection(name="hub", plugin="hub", settings=_NoSettings())

_HOOKS = {"assets": "hub_count_assets", "users": "hub_count_licensed_users",
          "usage": "hub_fetch_vendor_usage"}


@dataclass(frozen=True)
class CountResult:
    """The quantity a counter line bills and the items (provenance) that make it."""

    quantity: Decimal
    provenance: list[dict[str, Any]]


class Counter:
    """Counts for one billing run (holds the plugin hooks and connections to ask)."""

    def __init__(self, plugins: Any, connections: Sequence[Connection], engine: Any = None
                 ) -> None:
        """``plugins``: the run's :class:`pluggy.PluginManager` (``ctx.plugins.pm``)."""
        self._many = plugins.hook.hub_count_many
        # A plugin that answers many queries at once is asked only that way, never also per
        # query (hookspecs: hub_count_many): its per-query hooks are left out of the callers.
        batch_plugins = _bulk_counting_plugins(plugins)
        self._single = _per_query_callers(plugins, batch_plugins)
        self._asks_many = bool(batch_plugins)
        self._connections = [HUB_CONNECTION, *connections]
        self._engine = engine
        self._counting_from = None
        self._prefetching = None
        self._scoped = False
        if engine is not None:
            try:
                from hub.sources.stored_counters import counting_from, prefetching
            except ImportError:  # the built-in is optional: other counters need no engine
                counting_from = prefetching = None
            self._counting_from = counting_from
            self._prefetching = prefetching

    def prefetch(self, organisation_ids: Iterable[int]):
        """A block in which counts of these organisations are read by the built-in stored
        counter with one grouped query per table, not one per counter line (a billing run
        wraps each chunk of drafts in it). The hooks and their answers stay the same."""
        if self._prefetching is None:
            return nullcontext()
        return self._prefetched_block(organisation_ids)

    @contextmanager
    def _prefetched_block(self, organisation_ids: Iterable[int]) -> Iterator[None]:
        # The database is named once for the whole block, not once per counter line.
        with self._prefetching(self._engine, organisation_ids), self._counting_from(self._engine):
            self._scoped = True
            try:
                yield
            finally:
                self._scoped = False

    def _database_scope(self):
        """The built-in stored counter reads the database named by ``counting_from``."""
        if self._counting_from is None or self._scoped:
            return nullcontext()
        return self._counting_from(self._engine)

    def count(self, kind: str, *, organisation_id: int, external_ids: Mapping[str, str],
              filters: Mapping[str, Any], period_start: dt.date,
              period_end: dt.date) -> CountResult:
        """Ask every plugin, for every connection, and combine the answers."""
        return self.count_many([self.query(kind, organisation_id=organisation_id,
                                           external_ids=external_ids, filters=filters,
                                           period_start=period_start,
                                           period_end=period_end)])[0]

    @staticmethod
    def query(kind: str, *, organisation_id: int, external_ids: Mapping[str, str],
              filters: Mapping[str, Any], period_start: dt.date,
              period_end: dt.date) -> CountQuery:
        """The question a counter line asks."""
        # Validated: pydantic-core's validator is faster than model_construct's Python loop
        # (a run builds one query per counter line per organisation). The filters are handed
        # over as a plain dict (a template's are read-only proxies, which pydantic would keep,
        # and every look-up in one is a Python call).
        return CountQuery(
            kind=kind, organisation_id=organisation_id,
            organisation_external_ids=external_ids, filters=dict(filters),
            period_start=period_start, period_end=period_end)

    def count_many(self, queries: Sequence[CountQuery]) -> list[CountResult]:
        """Answer every query (one per counter line): plugins that count in bulk are asked once
        per connection for all of them, the others once per query and connection."""
        answers: list[list[Counted]] = [[] for _ in queries]
        with self._database_scope():
            for connection in self._connections:
                # Per-query answers first, as pluggy orders a collect hook's answers when the
                # stored counter (trylast) is among them: it yields to a live source's item.
                for mine, query in zip(answers, queries):
                    single = self._single.get(query.kind)
                    if single is not None:
                        mine.extend(c for c in single(connection=connection, query=query)
                                    if c is not None)
                if self._asks_many:
                    self._ask_many(connection, queries, answers)
        return [_combine(counted) for counted in answers]

    def _ask_many(self, connection: Connection, queries: Sequence[CountQuery],
                  answers: list[list[Counted]]) -> None:
        for answered in self._many(connection=connection, queries=list(queries)):
            if answered is None:
                continue
            if len(answered) != len(queries):
                raise PluginError(f"a hub_count_many implementation gave {len(answered)} "
                                  f"answers to {len(queries)} queries",
                                  hint="return one answer (or None) per query, in order")
            for mine, counted in zip(answers, answered):
                if counted is not None:
                    mine.append(counted)


def _bulk_counting_plugins(plugins: Any) -> list[Any]:
    """The plugins to ask through ``hub_count_many`` (and leave out of the per-query hooks)."""
    batch = [impl.plugin for impl in plugins.hook.hub_count_many.get_hookimpls()]
    everyone = batch + [impl.plugin for name in _HOOKS.values()
                        for impl in getattr(plugins.hook, name).get_hookimpls()]
    if not all(_hashable(plugin) for plugin in everyone):
        # pluggy leaves plugins out of a call by set membership; with an unhashable plugin (a
        # @dataclass without eq=False) everyone is asked per query instead: slower, same answers.
        return []
    return batch


def _hashable(plugin: Any) -> bool:
    try:
        hash(plugin)
    except TypeError:
        return False
    return True


def _per_query_callers(plugins: Any, batch_plugins: list[Any]) -> dict[str, Any]:
    """The per-query counter hooks without ``batch_plugins``, by kind (kinds nobody else
    answers are left out)."""
    callers = {}
    for kind, name in _HOOKS.items():
        caller = getattr(plugins.hook, name)
        impls = caller.get_hookimpls()
        others = [i for i in impls if not any(i.plugin is p for p in batch_plugins)]
        if not others:
            continue
        if len(others) < len(impls):
            caller = plugins.subset_hook_caller(name, remove_plugins=batch_plugins)
        callers[kind] = caller
    return callers


def _combine(answers: Iterable[Counted]) -> CountResult:
    """Sum the sources' answers: a source answering twice is taken once, and an item (by
    ``ref``) counted by two sources is billed once."""
    sources: set[str] = set()
    items: dict[str, dict[str, Any]] = {}
    for counted in answers:
        source = counted.source
        if source in sources:
            continue
        sources.add(source)
        for item in counted.items:
            ref = item.ref
            if ref not in items:
                items[ref] = {"ref": ref, "label": item.label, "quantity": item.quantity,
                              "source": source}
    provenance = list(items.values())
    quantity = sum(map(Decimal, map(_QUANTITY, provenance)), Decimal(0))
    # sorted by ref in C (itemgetter), not a Python key function per item: a run combines
    # one answer per counter line
    provenance.sort(key=_REF)
    return CountResult(quantity, provenance)


_QUANTITY, _REF = itemgetter("quantity"), itemgetter("ref")
