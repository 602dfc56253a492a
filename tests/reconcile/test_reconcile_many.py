"""The accounting section over more documents than one streamed batch, with differences looked
up while the hub's stream is still being read: on PostgreSQL the stream is read by a thread on
its own connection while the lookups run on a second one; on SQLite the stream is stepped
through between them. Every planted difference is found, once, with the same words."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import text

N = 12_345  # more than two batches of hub_stream (STREAM_BATCH)
EVERY = 97  # one in EVERY documents carries each planted difference


def _seed(engine) -> list:
    """N invoices, their links and the other side's documents (planted differences)."""
    from hub.reconcile.documents import other_doc

    invoices, links, others = [], [], []
    for i in range(N):
        total = Decimal(100 + i % 900) + Decimal(i % 100) / 100
        invoices.append({"id": i + 1, "number": f"INV-{i:06d}", "total": format(total, "f")})
        key = str(uuid.UUID(int=i * 7919 + 12345))
        if i % EVERY == 1:
            continue  # never pushed: missing at the other side
        links.append({"doc": i + 1, "ext": key})
        status = "VOIDED" if i % EVERY == 3 else "AUTHORISED"
        their_total = total - 10 if i % EVERY == 2 else total
        others.append(other_doc((key, "invoice", None, f"INV-{i:06d}", None, None, "USD",
                                 their_total, status, None, {}, key)))
        if i % EVERY == 4:  # created at the other side only
            others.append(other_doc((f"manual-{i:06d}", "invoice", None, f"M-{i:06d}", None,
                                     None, "USD", Decimal("45"), "AUTHORISED", None, {}, None)))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organisation (id, name, currency, billing_day, auto_bill, "
                          "require_invoice_group, active, attributes, created_at) VALUES "
                          "(1, 'Many', 'USD', 1, false, false, true, '{}', :now)"),
                     {"now": dt.datetime(2026, 1, 1)})
        conn.execute(text(
            "INSERT INTO invoice (id, organisation_id, kind, status, number, currency, "
            "issue_date, due_date, subtotal, tax_total, total, amount_paid, credit_applied, "
            "note, memo, extra_fields, auto_bill, created_at) VALUES (:id, 1, 'one_time', "
            "'unpaid', :number, 'USD', '2026-02-01', '2026-02-15', :total, '0', :total, "
            "'0', '0', '', '', '{}', false, '2026-02-01')"), invoices)
        conn.execute(text(
            "INSERT INTO externallink (document_kind, document_id, connection, external_id, "
            "synced_at) VALUES ('invoice', :doc, 'books', :ext, '2026-02-01')"), links)
    return sorted(others, key=lambda d: d.key)


#: when the missing-documents query starts in the background on SQLite
#: (accounting.BACKGROUND_AFTER): at once (the default), in the middle of the hub's stream, or
#: never (more than N: read after the comparison)
BACKGROUND = [None, 6_000, 10 * N]
#: how the hub's stream and the missing documents are read on PostgreSQL: the missing ones in
#: the stream's own pass, held by its thread (the default at this size); the same with more of
#: them than the thread holds (they come through a queue, and the lookups before them go to a
#: connection of their own); or, the stream read in its key's index order as a large one is
#: (LARGE_FROM -1: the estimate of a table never analysed), or through a cursor as on a
#: database whose collation is not code point order or for a report with a date window (an
#: `until` that keeps every document here), by a query in the background
POSTGRES_PATHS = {"tail": {}, "long tail": {"TAIL_HELD": 50},
                  "index order": {"LARGE_FROM": -1},
                  "cursor": {"LARGE_FROM": -1, "locale order": True},
                  "filtered": {"LARGE_FROM": -1, "filtered": True}}


def _check(engine, monkeypatch, background_after=None, path=None) -> None:
    from hub.db.models import metadata
    from hub.reconcile import accounting, background, batches, reading
    from hub.reconcile.batches import Reading
    from hub.reconcile.core import NullProgress, Options

    metadata.create_all(engine)
    others = _seed(engine)
    monkeypatch.setattr(accounting, "_BATCH", 7)  # look differences up while streaming
    if background_after is not None:
        monkeypatch.setattr(accounting, "BACKGROUND_AFTER", background_after)
    else:
        assert accounting.BACKGROUND_AFTER == 0
    assert batches.LARGE_FROM > N  # the default path here: one query with its tail
    if "TAIL_HELD" in (path or {}):
        monkeypatch.setattr(background, "TAIL_HELD", path["TAIL_HELD"])
    if "LARGE_FROM" in (path or {}):
        monkeypatch.setattr(batches, "LARGE_FROM", path["LARGE_FROM"])
        # as on a database in C order, or one in a locale's (keys then ordered COLLATE "C",
        # where no index is), whatever the test server's is
        monkeypatch.setattr(reading, "_codepoint_collation",
                            lambda _engine: not path.get("locale order"))
    streams, started = [], []
    real_stream, real_background = accounting.hub_stream, accounting.BackgroundRows
    monkeypatch.setattr(accounting, "hub_stream",
                        lambda *a: streams.append(real_stream(*a)) or streams[-1])
    monkeypatch.setattr(accounting, "BackgroundRows",
                        lambda *a: started.append(real_background(*a)) or started[-1])
    options = Options(today=dt.date(2026, 3, 1),
                      until=dt.date(2100, 1, 1) if (path or {}).get("filtered") else None)
    found = list(accounting.compare_kind(engine, "books", accounting.KINDS["invoice"], others,
                                         options, NullProgress(), presorted=True))
    planted = len(range(1, N, EVERY))  # each kind is planted at the same rate
    assert Counter(d.kind for d in found) == {
        "missing_in_accounting": planted, "total_differs": len(range(2, N, EVERY)),
        "status_differs": len(range(3, N, EVERY)),
        "extra_in_accounting": len(range(4, N, EVERY))}
    assert len({d.document for d in found}) == len(found)
    if path is not None:  # PostgreSQL: the way asked for was taken
        expected = (Reading.QUERY if "LARGE_FROM" not in path else
                    Reading.CURSOR if path.get("locale order") or path.get("filtered")
                    else Reading.INDEX_ORDER)
        assert [s.reading for s in streams] == [expected]
        assert [s.has_tail for s in streams] == [expected is Reading.QUERY]
        assert len(started) == (0 if expected is Reading.QUERY else 1)
    differs = next(d for d in found if d.kind == "total_differs")
    assert differs.document == "invoice INV-000002"
    assert (differs.hub_value, differs.other_value) == ("102.02 USD", "92.02 USD")
    # the unsorted path (bounded-memory sort) finds the same
    shuffled = sorted(others, key=lambda d: hash(d.key))
    again = list(accounting.compare_kind(engine, "books", accounting.KINDS["invoice"],
                                         shuffled, options, NullProgress()))
    assert Counter(tuple(d.as_dict().items()) for d in again) == Counter(
        tuple(d.as_dict().items()) for d in found)


@pytest.mark.parametrize("background_after", BACKGROUND)
def test_reconcile_many_documents_on_sqlite(hub_engine, monkeypatch, background_after):
    _check(hub_engine, monkeypatch, background_after)


@pytest.mark.postgres
@pytest.mark.parametrize("path", list(POSTGRES_PATHS))
def test_reconcile_many_documents_on_postgres(hub_postgres_url, monkeypatch, path):
    from hub.db.engine import make_engine

    engine = make_engine(hub_postgres_url)
    try:
        _check(engine, monkeypatch, path=POSTGRES_PATHS[path])
    finally:
        engine.dispose()
