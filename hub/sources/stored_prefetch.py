"""The stored counter's per-chunk prefetch: a billing run reads a chunk of organisations'
assets, contacts and usage snapshots with one grouped query per table, and the counts of those
organisations are answered from them (:mod:`hub.sources.stored_counters`)."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterable, Iterator

from hub.sources.count_filters import FILTER_COLUMNS

__all__ = ["Prefetched", "prefetching", "PREFETCHED", "READ_COLUMNS"]


class Prefetched:
    """The stored rows of a chunk of organisations, one grouped query per table, read when the
    first count of that table asks (see :func:`prefetching`)."""

    def __init__(self, engine: Any, organisation_ids: Iterable[int]) -> None:
        self.engine = engine
        self.organisation_ids = frozenset(organisation_ids)
        self._tables: dict[Any, dict[tuple[int, str | None], list[Any]]] = {}

    def covers(self, organisation_id: int, engine: Any) -> bool:
        """Whether this prefetch holds ``organisation_id``'s rows of ``engine``."""
        return organisation_id in self.organisation_ids and engine is self.engine

    def grouped(self, model: Any) -> dict[tuple[int, str | None], list[Any]]:
        """``model``'s rows (deleted at source too) by (organisation id, source), each list in
        id order, read on first use."""
        grouped = self._tables.get(model)
        if grouped is None:
            grouped = self._tables[model] = self._load(model)
        return grouped

    def _load(self, model: Any) -> dict[tuple[int, str | None], list[Any]]:
        # SQLAlchemy is imported where it is used: this module is a plugin the host registers at
        # every CLI start, and `hub --help` must not pay for the SQL toolkit.
        from sqlalchemy import JSON, Text, cast, select

        from hub.db.sql import among

        table = model.__table__
        grouped: dict[tuple[int, str | None], list[Any]] = {}
        ids = sorted(self.organisation_ids)
        # JSON attributes are read as text (cast in SQL, or psycopg would parse every row) and
        # parsed only when a filter asks, once per distinct text (see hub.sources.count_filters.attributes_match):
        # parsing every row was most of the load.
        # Only the columns a count reads (the others, timestamps mostly, cost a conversion per
        # row on SQLite and are never looked at).
        wanted = READ_COLUMNS[table.name]
        columns = [cast(c, Text).label(c.name) if isinstance(c.type, JSON) else c
                   for c in table.c if c.name in wanted]
        with self.engine.connect() as conn:
            for start in range(0, len(ids), ORGANISATIONS_PER_QUERY):
                some = ids[start:start + ORGANISATIONS_PER_QUERY]
                # .all(): one fetchall, not a fetchone per row.
                for row in conn.execute(select(*columns).where(
                        among(table.c.organisation_id, some, conn)).order_by(table.c.id)).all():
                    grouped.setdefault((row.organisation_id, row.source), []).append(row)
        return grouped


#: The columns of each table the counts read from a prefetched row: the row's identity and
#: source, what the items say, and every column a filter may name.
_COMMON_COLUMNS = frozenset({"id", "organisation_id", "source", "deleted_at_source", "name",
                             "attributes"})
READ_COLUMNS = {
    "asset": _COMMON_COLUMNS | {"status", *FILTER_COLUMNS["assets"]},
    "contact": _COMMON_COLUMNS | set(FILTER_COLUMNS["users"]),
    "usagesnapshot": _COMMON_COLUMNS | {"external_id", "description", "quantity", "period_start",
                                        "period_end", *FILTER_COLUMNS["usage"]},
}

#: Organisations per grouped query of :class:`Prefetched` (parameter limits stay far away).
ORGANISATIONS_PER_QUERY = 1000
PREFETCHED: ContextVar[Prefetched | None] = ContextVar("hub_stored_counter_prefetched",
                                                         default=None)


@contextmanager
def prefetching(engine: Any, organisation_ids: Iterable[int]) -> Iterator[None]:
    """Within this block, counts of these organisations read ``engine``'s assets, contacts and
    usage snapshots with one grouped query per table (made on first use) instead of one query
    per counter line. The billing run wraps each chunk of drafts in it; the answers are exactly
    those of the per-line queries, which still serve anything the block does not cover."""
    token = PREFETCHED.set(Prefetched(engine, organisation_ids))
    try:
        yield
    finally:
        PREFETCHED.reset(token)
