"""The accounting section's comparison loop: a merge join with the cheap comparison written into
it (hub.reconcile.accounting._compare). It must classify every key exactly as
:func:`~hub.reconcile.streams.merge_join` does, pass on every pair that differs in any compared
field, and refuse unsorted or repeated keys the same way."""

from __future__ import annotations

import random
from decimal import Decimal
from operator import itemgetter

import pytest

from hub.reconcile.accounting import _compare
from hub.reconcile.documents import OtherDoc, other_doc
from hub.reconcile.streams import StreamOrderError, merge_join


class _Recorder:
    """Stands in for AccountingComparer: records what the loop hands over."""

    def __init__(self) -> None:
        self.unequal: list = []
        self.stray_docs: list = []
        self.advanced = 0

    def resolve(self, batch):
        self.unequal.extend(batch)
        return iter(())

    def strays(self, batch):
        self.stray_docs.extend(batch)
        return iter(())

    def flush_lines(self):
        return []

    # the Progress protocol
    def start(self, section, description, total=None):
        return None

    def advance(self, count=1):
        self.advanced += count


def _hub(key, total="10.0000", status="unpaid", currency="USD"):
    return (key, total, status, currency)


def _other(key, total="10.00", status="AUTHORISED", currency="USD", lines=None):
    return OtherDoc(key, "invoice", None, None, None, None, currency, Decimal(total), status,
                    lines, {})


def _run(hub, others, absolute=False):
    recorder = _Recorder()
    assert list(_compare(recorder, hub, others, absolute, recorder)) == []
    return recorder


def test_reconcile_compare_loop_classifies_keys_as_merge_join_does():
    rng = random.Random(11)
    hub_keys = sorted(f"k{n:05d}" for n in rng.sample(range(20_000), 4_000))
    other_keys = sorted(f"k{n:05d}" for n in rng.sample(range(20_000), 4_000))
    both = sorted(set(hub_keys) & set(other_keys))
    differing = set(rng.sample(both, 50))
    hub = [_hub(k) for k in hub_keys]
    others = [_other(k, total="11.00" if k in differing else "10.00") for k in other_keys]
    recorder = _run(hub, others)
    pairs = list(merge_join(hub, others, itemgetter(0), itemgetter(0)))
    assert [h for h, o in recorder.unequal if o is None] == [h for h, o in pairs if o is None]
    assert recorder.stray_docs == [o for h, o in pairs if h is None]
    assert sorted(h[0] for h, o in recorder.unequal if o is not None) == sorted(differing)
    assert recorder.advanced == len(pairs)


@pytest.mark.parametrize("hub,other,agree", [
    (_hub("a"), _other("a"), True),
    (_hub("a", status="draft"), _other("a", status="submitted"), True),  # both open
    (_hub("a", total="10.0100"), _other("a"), False),
    (_hub("a", currency="EUR"), _other("a"), False),
    (_hub("a"), _other("a", status="VOIDED"), False),
    (_hub("a", status="paid"), _other("a"), False),
    (_hub("a"), _other("a", lines=()), False),  # lines given: compared in batches
    (_hub("a", total=Decimal("10.0000")), _other("a"), True),  # PostgreSQL gives Decimals
])
def test_reconcile_compare_loop_passes_on_every_pair_that_differs(hub, other, agree):
    recorder = _run([hub], [other])
    assert recorder.unequal == ([] if agree else [(hub, other)])
    assert recorder.stray_docs == []


def test_reconcile_compare_loop_remembers_statuses_only_while_they_repeat():
    hub = [_hub("a"), _hub("b"), _hub("c", status="deleted"), _hub("d", status="deleted")]
    others = [_other("a"), _other("b", status="VOIDED"), _other("c", status="VOIDED"),
              _other("d")]
    recorder = _run(hub, others)
    assert [h[0] for h, _ in recorder.unequal] == ["b", "d"]


def test_reconcile_compare_loop_compares_payments_by_absolute_amount():
    refund = _hub("r", total="-25.0000", status="succeeded")
    recorder = _run([refund], [_other("r", total="25.00", status="open")], absolute=True)
    assert recorder.unequal == []


def test_reconcile_compare_loop_takes_the_fast_builder_s_documents():
    built = other_doc(("a", "invoice", None, None, None, None, "USD", Decimal("10"),
                       "AUTHORISED", None, {}, None))
    assert built == _other("a", total="10") and isinstance(built, OtherDoc)
    assert _run([_hub("a")], [built]).unequal == []


@pytest.mark.parametrize("hub_keys,other_keys,side", [
    (["a", "c", "b"], ["a", "b", "c"], "left"),   # out of order
    (["a", "b", "c"], ["a", "a", "b"], "right"),  # repeated key
    (["a", "b"], ["e", "d"], "right"),            # out of order after the hub side ran out
    (["d", "c"], ["a"], "left"),                  # out of order after the other side ran out
])
def test_reconcile_compare_loop_refuses_unsorted_or_repeated_keys(hub_keys, other_keys, side):
    with pytest.raises(StreamOrderError, match=side):
        _run([_hub(k) for k in hub_keys], [_other(k) for k in other_keys])


@pytest.mark.parametrize("hub_keys,other_keys", [([], []), (["a"], []), ([], ["a"])])
def test_reconcile_compare_loop_handles_empty_sides(hub_keys, other_keys):
    recorder = _run([_hub(k) for k in hub_keys], [_other(k) for k in other_keys])
    assert [h[0] for h, _ in recorder.unequal] == hub_keys
    assert [o.key for o in recorder.stray_docs] == other_keys
    assert recorder.advanced == len(hub_keys) + len(other_keys)


def test_reconcile_missing_query_starts_at_once_or_after_its_count_of_hub_rows():
    """``started_after(rows, 0)`` starts the background query (SQLite) before any row is read
    (the default); a count starts it once that many rows are read and more follow."""
    from hub.reconcile import accounting

    assert accounting.BACKGROUND_AFTER == 0
    started = []
    missing = accounting._MissingRows.__new__(accounting._MissingRows)
    missing._start_ids = lambda: started.append(True)
    rows = missing.started_after(iter([("a",), ("b",)]), 0)
    assert started == [True]
    assert list(rows) == [("a",), ("b",)]
    started.clear()
    rows = missing.started_after(iter([("a",), ("b",), ("c",)]), 2)
    assert [next(rows), next(rows)] == [("a",), ("b",)] and started == []
    assert list(rows) == [("c",)] and started == [True]
    started.clear()
    assert list(missing.started_after(iter([("a",), ("b",)]), 2)) == [("a",), ("b",)]
    assert started == []  # nothing followed: no query in the background


def test_reconcile_reads_the_other_side_ahead_only_while_the_hub_stream_is_awaited(
        monkeypatch):
    """While the hub's first rows are awaited (its query still sorting in the server), the
    other side is read ahead, up to READ_AHEAD documents (a step more at most); the
    documents then come in their order, none lost or repeated, and none is read ahead once
    the hub's rows are there."""
    from hub.reconcile import streams

    monkeypatch.setattr(streams, "READ_AHEAD", 250)
    taken = []

    def others(count):
        for i in range(count):
            taken.append(i)
            yield i

    looks = iter([True, True, False])  # the hub's first rows come at the third look
    rows = streams.read_ahead(others(1000), lambda: next(looks))
    assert len(taken) == 2 * streams._READ_AHEAD_STEP and list(rows) == list(range(1000))
    taken.clear()
    rows = streams.read_ahead(others(1000), lambda: True)  # bounded
    assert len(taken) == 300 and list(rows) == list(range(1000))
    taken.clear()
    rows = streams.read_ahead(others(150), lambda: True)  # fewer than a step
    assert list(rows) == list(range(150))
    taken.clear()
    rows = streams.read_ahead(others(1000), lambda: False)
    assert taken == [] and list(rows) == list(range(1000))
