"""A preview stores each chunk while it drafts the next (hub.billing.store_behind): what one
chunk's drafts reserve is never taken again by the next, what is left out is listed in chunk
order, and a run stopped while a chunk is being stored leaves nothing behind. The store is
slowed down here so that the next chunk is always drafted while it runs; on PostgreSQL, as a
user's run does it, and on SQLite with the store put in a thread too (a user's SQLite run
stores in its own thread)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import select, update

import hub.billing.runs as runs
import hub.billing.store_behind as store_behind
from hub.billing import preview
from hub.billing.catalogue import add_future_item, create_organisation
from hub.billing.recurring import add_recurring_line, create_recurring
from hub.db.engine import session_scope
from hub.db.models import BillingBatch, FutureItem, Invoice, InvoiceLine, Organisation

D = dt.date


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ctx(request, tmp_path, make_ctx, monkeypatch):
    if request.param == "sqlite":
        monkeypatch.setattr(store_behind, "THREADED", store_behind.THREADED | {"sqlite"})
        return make_ctx("sqlite:///" + str(tmp_path / "t.sqlite"), tmp_path)
    return make_ctx(request.getfixturevalue("hub_postgres_url"), tmp_path)


@pytest.fixture
def slow_store(monkeypatch):
    """Chunks of two schedules, and a store that takes a while (in its own thread, and
    records which thread that was)."""
    monkeypatch.setattr(runs, "CHUNK", 2)
    original = runs.store_drafts
    threads: list[str] = []

    def slow(session, batch_id, drafts):
        threads.append(threading.current_thread().name)
        time.sleep(0.3)
        return original(session, batch_id, drafts)

    monkeypatch.setattr(runs, "store_drafts", slow)
    return threads


def _schedule(s, org_id: int, price: str = "45.00") -> int:
    schedule = create_recurring(s, org_id, D(2026, 3, 1))
    add_recurring_line(s, recurring_id=schedule.id, description="Internet", unit_price=price)
    return schedule.id


def test_a_future_item_is_taken_once_by_an_organisation_whose_schedules_span_two_chunks(
        ctx, slow_store):
    with session_scope(ctx.engine) as s:
        a = create_organisation(s, "Acme").id
        b = create_organisation(s, "Beta").id
        c = create_organisation(s, "Gamma").id
        # chunk 1: Acme, Beta; chunk 2: Acme again, Gamma
        for org in (a, b, a, c):
            _schedule(s, org)
        item = add_future_item(s, a, "Installation", "20.00", D(2026, 3, 2)).id
    summary = preview(ctx, D(2026, 3, 1))
    assert summary.invoices == 4 and summary.left_out == []
    assert all(name.startswith("hub-billing-store") for name in slow_store)
    with session_scope(ctx.engine) as s:
        taken = s.execute(select(InvoiceLine.invoice_id, InvoiceLine.amount).where(
            InvoiceLine.line_type == "future_item")).all()
        reserved = s.get(FutureItem, item)
    assert [amount for _, amount in taken] == [Decimal("20.00")], "taken by both schedules"
    assert reserved.invoice_id == taken[0][0]


def test_left_out_drafts_are_listed_in_chunk_order(ctx, slow_store, monkeypatch):
    with session_scope(ctx.engine) as s:
        ids = {name: create_organisation(s, name).id
               for name in ("Bad currency", "Unstorable", "Fine", "Bad again")}
        for name in ("Bad currency", "Unstorable", "Fine", "Bad again"):
            _schedule(s, ids[name])
        ot = Organisation.__table__
        s.execute(update(ot).where(ot.c.id.in_([ids["Bad currency"], ids["Bad again"]]))
                  .values(currency="XX1"))
    stored = runs.store_drafts

    def refuse_one(session, batch_id, drafts):
        if any(d.invoice["organisation_id"] == ids["Unstorable"] for d in drafts):
            raise RuntimeError("the database refused this one")
        return stored(session, batch_id, drafts)

    monkeypatch.setattr(runs, "store_drafts", refuse_one)
    summary = preview(ctx, D(2026, 3, 1))
    # chunk 1's own (currency) and its store's (refused), then chunk 2's: the second chunk
    # was drafted while the first was stored, yet its left-out comes after
    assert [i["organisation"] for i in summary.left_out] == ["Bad currency", "Unstorable",
                                                             "Bad again"]
    assert "refused" in summary.left_out[1]["reason"]
    assert summary.invoices == 1


def test_a_run_stopped_while_a_chunk_is_stored_leaves_no_drafts_and_no_reservations(
        ctx, slow_store, monkeypatch):
    with session_scope(ctx.engine) as s:
        orgs = [create_organisation(s, f"Org {i}").id for i in range(5)]
        for org in orgs:
            _schedule(s, org)
        item = add_future_item(s, orgs[0], "Installation", "20.00", D(2026, 3, 2)).id
    stored, calls = runs.store_drafts, []

    def stopped_on_second(session, batch_id, drafts):
        calls.append(len(drafts))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the operator's Ctrl-C, arriving in the store
        return stored(session, batch_id, drafts)

    monkeypatch.setattr(runs, "store_drafts", stopped_on_second)
    with pytest.raises(KeyboardInterrupt):
        preview(ctx, D(2026, 3, 1))
    with session_scope(ctx.engine) as s:
        assert s.execute(select(Invoice.id)).all() == []
        assert s.get(FutureItem, item).invoice_id is None
        assert [b.status.value for b in s.execute(select(BillingBatch)).scalars()] \
            == ["discarded"]
