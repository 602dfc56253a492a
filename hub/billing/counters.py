"""Asking the counter hooks how many assets, users or licences a counter line bills.

Every hook is called once per connection: the hub's own :data:`HUB_CONNECTION` (for plugins
that count what the hub has stored, whatever connector it came from) and every enabled
connection of ``ctx.connections()``. Plugins answer with :class:`hub.documents.Counted`; answers
are summed across sources, a source answering twice is taken once, and an item (by ``ref``)
counted by two sources is billed once. The items become the line's provenance.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Iterator, Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from hub.connections import Connection
from hub.documents import CountQuery

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

    def __init__(self, hook: Any, connections: Sequence[Connection], engine: Any = None) -> None:
        self._hook = hook
        self._connections = [HUB_CONNECTION, *connections]
        self._engine = engine
        self._counting_from = None
        self._prefetching = None
        self._scoped = False
        if engine is not None:
            try:
                from hub.builtins.stored_counters import counting_from, prefetching
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
        # Built by the host from values it has already checked, so validation is skipped
        # (model_construct): a run builds one query per counter line per organisation.
        query = CountQuery.model_construct(
            kind=kind, organisation_id=organisation_id,
            organisation_external_ids=dict(external_ids), filters=dict(filters),
            period_start=period_start, period_end=period_end)
        hook = getattr(self._hook, _HOOKS[kind])
        sources: set[str] = set()
        items: dict[str, dict[str, Any]] = {}
        with self._database_scope():
            answers = [(c, hook(connection=c, query=query)) for c in self._connections]
        for _connection, results in answers:
            for counted in results:
                if counted is None or counted.source in sources:
                    continue
                sources.add(counted.source)
                for item in counted.items:
                    items.setdefault(item.ref, {"ref": item.ref, "label": item.label,
                                                "quantity": item.quantity,
                                                "source": counted.source})
        quantity = sum((Decimal(i["quantity"]) for i in items.values()), Decimal(0))
        return CountResult(quantity, sorted(items.values(), key=lambda i: i["ref"]))
