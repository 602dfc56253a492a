"""The merge join and the bounded-memory sort that every large section stands on."""

from __future__ import annotations

import random
import tracemalloc

import pytest

from hub.reconcile.streams import StreamOrderError, merge_join, sorted_stream


def _ident(x):
    return x


def test_reconcile_merge_join_is_a_full_outer_join_in_key_order():
    left = [1, 3, 5, 8]
    right = [2, 3, 6, 8, 9]
    assert list(merge_join(left, right, _ident, _ident)) == [
        (1, None), (None, 2), (3, 3), (5, None), (None, 6), (8, 8), (None, 9)]
    assert list(merge_join([], [1], _ident, _ident)) == [(None, 1)]
    assert list(merge_join([1], [], _ident, _ident)) == [(1, None)]
    assert list(merge_join([], [], _ident, _ident)) == []


def test_reconcile_merge_join_matches_a_dictionary_join_on_random_data():
    rng = random.Random(7)
    left = sorted(rng.sample(range(10_000), 3_000))
    right = sorted(rng.sample(range(10_000), 3_000))
    pairs = list(merge_join(left, right, _ident, _ident))
    both = set(left) & set(right)
    assert [l for l, r in pairs if l is not None and r is not None] == sorted(both)
    assert {l for l, r in pairs if r is None} == set(left) - both
    assert {r for l, r in pairs if l is None} == set(right) - both


@pytest.mark.parametrize("left,right,side", [
    ([1, 3, 2], [1, 2, 3], "left"),       # out of order
    ([1, 2, 3], [1, 1, 2], "right"),      # repeated key
    ([1, 2], [5, 4], "right"),            # out of order after the left ran out
])
def test_reconcile_merge_join_refuses_unsorted_or_repeated_keys(left, right, side):
    with pytest.raises(StreamOrderError, match=side):
        list(merge_join(left, right, _ident, _ident))


def test_reconcile_merge_join_is_lazy():
    def endless():
        n = 0
        while True:
            yield n
            n += 2

    pairs = merge_join(endless(), iter([0, 1, 2]), _ident, _ident)
    assert [next(pairs) for _ in range(3)] == [(0, 0), (None, 1), (2, 2)]


def test_reconcile_sorted_stream_sorts_across_spilled_runs():
    rng = random.Random(3)
    items = [(f"id-{rng.randrange(10**9):09d}", i) for i in range(25_000)]
    result = list(sorted_stream(iter(items), key=lambda t: t[0], chunk_size=1_000))
    assert result == sorted(items, key=lambda t: t[0])
    assert list(sorted_stream(iter([]), key=_ident)) == []
    assert list(sorted_stream(iter([3, 1, 2]), key=_ident)) == [1, 2, 3]  # one run: no spill


def test_reconcile_sorted_stream_memory_does_not_grow_with_the_stream():
    def source(n):
        rng = random.Random(n)
        return ((f"{rng.random():.17f}", "x" * 40) for _ in range(n))

    def peak(n):
        tracemalloc.start()
        try:
            for _ in sorted_stream(source(n), key=lambda t: t[0], chunk_size=500):
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(20_000), peak(80_000)  # 40 and 160 runs: both merged in stages
    # four times the items, and the peak hardly moves (a list of them all would be ~4x)
    assert large < small * 1.5, (small, large)


def test_reconcile_unique_by_key_drops_overlapping_pages():
    from hub.reconcile.streams import unique_by_key

    dropped = []
    items = [("a", 1), ("b", 2), ("b", 3), ("c", 4)]
    assert list(unique_by_key(items, lambda t: t[0], dropped.append)) == [
        ("a", 1), ("b", 2), ("c", 4)]
    assert dropped == [("b", 3)]


def test_reconcile_stream_tuples_reads_every_row_at_any_batch_size(hub_engine):
    from sqlalchemy import text

    from hub.reconcile.reading import read_only, stream_tuples

    with hub_engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO t (k) VALUES " + ",".join(f"({i})" for i in range(1, 2346))))
    with read_only(hub_engine) as reader, reader.connect() as conn:
        for batch in (1, 7, 1000, 2345, 5000):
            keys = [row[0] for row in stream_tuples(conn, text("SELECT k FROM t ORDER BY k"),
                                                    batch)]
            assert keys == list(range(1, 2346)), batch


def test_reconcile_reads_sqlite_through_a_read_only_connection_with_a_small_page_cache(
        hub_engine):
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from hub.db.readers import READER_CACHE_KIB
    from hub.reconcile.reading import read_only

    with read_only(hub_engine) as reader, reader.connect() as conn:
        assert reader is not hub_engine
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -READER_CACHE_KIB
        with pytest.raises(OperationalError, match="readonly"):
            conn.execute(text("CREATE TABLE written (k INTEGER)"))
    with hub_engine.connect() as conn:  # the hub's own connections keep SQLite's default
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -2000
