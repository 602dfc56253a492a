"""Counting a chunk of counter lines at once: ``hub_count_many``.

A plugin implementing it is asked once per connection for a whole chunk and never also per
query; the built-in stored counter implements it and answers exactly what its per-query hooks
answer; a billing run counts through it and collects garbage less often while it runs.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
from dataclasses import dataclass

import pytest
from pydantic import BaseModel

from hub.billing import preview
from hub.billing.recurring import add_recurring_line, create_recurring
from hub.billing.counters import Counter
from hub.sources import stored_counters
from hub.sources.stored_counters import counting_from, prefetching
from hub.host.gc_pacing import YOUNG_THRESHOLD, bulk_allocations
from hub.contract.connections import Connection
from hub.db.engine import session_scope
from hub.db.models import Organisation
from hub.contract.records import Counted, CountedItem, CountQuery
from hub.errors import PluginError
from hub.contract.hookspecs import hookimpl
from hub.host.plugins import DEFAULT_PLUGINS, build_plugin_host

from .test_billing_bulk_counters import (  # noqa: F401  (engine, orgs: fixtures)
    CONNECTIONS, FILTERS, HOOKS, PERIODS, engine, orgs,
)

NOV = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


class _Settings(BaseModel):
    pass


RMM = Connection(name="rmm", plugin="rmm", settings=_Settings())


def _query(kind: str, org: int, **filters) -> CountQuery:
    return CountQuery(kind=kind, organisation_id=org, filters=filters,
                      period_start=NOV[0], period_end=NOV[1])


class BulkCounter:
    """Answers many queries at once for connection ``rmm``; its per-query hook must never be
    used by a billing run (it answers differently, so a double count would show)."""

    def __init__(self, answers: int | None = None) -> None:
        self.many_calls: list[tuple[str, int]] = []
        self.per_query_calls = 0
        self.answers = answers  # how many answers to give (wrong on purpose in one test)

    @hookimpl
    def hub_count_many(self, connection, queries):
        self.many_calls.append((connection.name, len(queries)))
        if connection.name != "rmm":
            return None
        answers = [Counted(source="bulk", items=tuple(
            CountedItem(ref=f"rmm:{q.kind}:{q.organisation_id}:{i}", label=f"thing {i}")
            for i in range(q.organisation_id))) for q in queries]
        return answers[:self.answers] if self.answers is not None else answers

    @hookimpl
    def hub_count_assets(self, connection, query):
        self.per_query_calls += 1
        return Counted(source="rmm-per-query", items=(CountedItem(ref="wrong", label="x"),))


class PerQueryCounter:
    """An ordinary counter plugin: per-query hooks only, for connection ``psa``."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def hub_count_assets(self, connection, query):
        if connection.name != "psa":
            return None
        self.calls += 1
        return Counted(source="psa", items=(CountedItem(ref=f"psa:{query.organisation_id}",
                                                        label="from the PSA"),))


def _host(*plugins):
    return build_plugin_host(extra_plugins=[(f"p{i}", p) for i, p in enumerate(plugins)],
                             load_entry_points=False, defaults=())


def test_a_bulk_plugin_is_asked_once_per_connection_and_never_per_query():
    bulk, single = BulkCounter(), PerQueryCounter()
    psa = Connection(name="psa", plugin="psa", settings=_Settings())
    counter = Counter(_host(bulk, single).pm, [RMM, psa])
    queries = [_query("assets", org) for org in (1, 2, 3)] + [_query("users", 2)]
    results = counter.count_many(queries)
    # hub pseudo-connection, rmm, psa: one call each, with the whole chunk.
    assert bulk.many_calls == [("hub", 4), ("rmm", 4), ("psa", 4)]
    assert bulk.per_query_calls == 0
    assert single.calls == 3  # the asset queries, for its own connection
    assert [r.quantity for r in results] == [2, 3, 4, 2]  # org N things + 1 PSA asset
    assert [p["ref"] for p in results[1].provenance] == [
        "psa:2", "rmm:assets:2:0", "rmm:assets:2:1"]
    assert {p["source"] for p in results[1].provenance} == {"psa", "bulk"}
    # One line at a time asks the same plugins the same way.
    one = counter.count("assets", organisation_id=3, external_ids={}, filters={},
                        period_start=NOV[0], period_end=NOV[1])
    assert one == results[2] and bulk.per_query_calls == 0


def test_a_bulk_answer_of_the_wrong_length_is_refused_with_a_clear_error():
    counter = Counter(_host(BulkCounter(answers=1)).pm, [RMM])
    with pytest.raises(PluginError, match="gave 1 answers to 2 queries") as error:
        counter.count_many([_query("assets", 1), _query("assets", 2)])
    assert "one answer (or None) per query" in error.value.hint


@dataclass
class UnhashableCounter:
    """A @dataclass plugin (eq=True, so unhashable): pluggy cannot leave plugins out of a call
    next to it, so everyone is asked per query instead, with the same answers."""

    @hookimpl
    def hub_count_assets(self, connection, query):
        if connection.name != "rmm":
            return None
        return Counted(source="rmm-live", items=(CountedItem(ref="rmm:7", label="seven"),))


def test_an_unhashable_plugin_makes_everyone_answer_per_query(engine, orgs):
    host = build_plugin_host(extra_plugins=[("unhashable", UnhashableCounter())],
                             load_entry_points=False, defaults=DEFAULT_PLUGINS)
    counter = Counter(host.pm, CONNECTIONS[1:4], engine)
    [result] = counter.count_many([_query("assets", orgs[0], asset_type="workstation")])
    # WS-1 and WS-2 from rmm, Hand-made by hand, plus the plugin's own device.
    assert result.quantity == 4
    assert {p["ref"] for p in result.provenance} >= {"rmm:7"}


@pytest.mark.parametrize("prefetched", [False, True], ids=["per-line", "prefetched"])
def test_the_stored_count_many_answers_each_query_as_its_hook_does(engine, orgs, prefetched):
    queries = [CountQuery(kind=kind, organisation_id=org, filters=f, period_start=start,
                          period_end=end)
               for kind, filters in FILTERS.items()
               for f, org, (start, end) in itertools.product(filters, [*orgs, 999], PERIODS)]
    answered = 0
    with counting_from(engine), (prefetching(engine, orgs) if prefetched
                                 else counting_from(engine)):
        for connection in CONNECTIONS:
            many = stored_counters.hub_count_many(connection=connection, queries=queries)
            one_by_one = [HOOKS[q.kind](connection=connection, query=q) for q in queries]
            if connection.name == "live":  # counts live at its source: the stored counter
                assert many is None        # stays out, both ways
                assert set(one_by_one) == {None}
                continue
            assert many == one_by_one
            answered += sum(1 for a in many if a is not None and a.items)
    assert answered > 50  # a comparison of nothings would prove nothing


def test_bulk_allocations_relaxes_collection_and_restores_it():
    before = gc.get_threshold()
    with bulk_allocations():
        assert gc.get_threshold()[0] == max(before[0], YOUNG_THRESHOLD)
        with bulk_allocations():  # nested (e.g. a preview inside a request that does one)
            assert gc.get_threshold()[0] == max(before[0], YOUNG_THRESHOLD)
        assert gc.get_threshold()[0] == max(before[0], YOUNG_THRESHOLD)
    assert gc.get_threshold() == before


def test_bulk_allocations_freezes_what_exists_before_it_and_thaws_it_after():
    # Frozen objects may still be freed meanwhile (their count only goes down): the checks
    # are that the block freezes, that a nested block freezes nothing more, and that all is
    # thawed after.
    assert gc.get_freeze_count() == 0
    with bulk_allocations():
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # the modules, classes and objects of this process
        made_inside = [[i] for i in range(5000)]  # tracked containers, made after the freeze
        with bulk_allocations():  # nested (a preview inside a request): nothing more frozen
            assert gc.get_freeze_count() <= frozen
        assert gc.get_freeze_count() <= frozen and len(made_inside) == 5000
    assert gc.get_freeze_count() == 0


def test_bulk_allocations_keeps_a_freeze_the_process_made_itself():
    gc.freeze()  # as a pre-forking server does
    try:
        frozen = gc.get_freeze_count()
        made_after = [[i] for i in range(5000)]
        with bulk_allocations():  # neither freezes what was made since nor thaws
            assert 0 < gc.get_freeze_count() <= frozen
        assert 0 < gc.get_freeze_count() <= frozen and len(made_after) == 5000
    finally:
        gc.unfreeze()


def test_bulk_allocations_leaves_switched_off_collection_off():
    before = gc.get_threshold()
    gc.set_threshold(0)
    try:
        with bulk_allocations():
            assert gc.get_threshold()[0] == 0
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


def test_a_billing_preview_counts_through_the_bulk_hook_with_relaxed_collection(ctx):
    seen = []

    class Watching(BulkCounter):
        @hookimpl
        def hub_count_many(self, connection, queries):
            seen.append(gc.get_threshold()[0])
            return super().hub_count_many(connection, queries)

    watching = Watching()
    ctx.plugins.pm.register(watching, name="watching")
    with session_scope(ctx.engine) as session:
        org = Organisation(name="Acme", currency="USD", billing_day=1)
        session.add(org)
        session.flush()
        schedule = create_recurring(session, org.id, dt.date(2026, 4, 1), first_run="start")
        add_recurring_line(session, recurring_id=schedule.id, line_type="asset_counter",
                           description="Managed device", unit_price="30.00")
        org_id = org.id
    before = gc.get_threshold()
    batch = preview(ctx, dt.date(2026, 4, 1))
    assert batch.invoices == 1
    assert watching.per_query_calls == 0
    assert [name for name, _ in watching.many_calls] == ["hub", "rmm", "books", "pay"]
    assert seen and min(seen) >= YOUNG_THRESHOLD  # counted inside the relaxed block
    assert gc.get_threshold() == before          # and restored after it
    with session_scope(ctx.engine) as session:
        from hub.db.models import Invoice, InvoiceLine
        from sqlmodel import select

        [line] = session.exec(select(InvoiceLine).join(Invoice).where(
            Invoice.organisation_id == org_id)).all()
        assert line.quantity == org_id  # the bulk plugin's org-id things, via connection rmm
