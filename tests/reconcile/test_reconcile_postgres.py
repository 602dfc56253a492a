"""The seeded scenario on PostgreSQL: server-side cursors, exact NUMERIC amounts and key order
(both with the database's own code point collation and with ``COLLATE "C"``)."""

from __future__ import annotations

from collections import Counter

import pytest

from hub.reconcile import SECTIONS, NullProgress, Options, Totals, reconcile


def _scenario(url, tmp_path, hub_clock, make_plugin_host, scenario_module):
    """A hub context on a fresh PostgreSQL schema with the scenario's fake systems (seed it with
    ``scenario_module.seed(ctx.engine)``); dispose of ``ctx.engine`` when done."""
    from hub.config import HubSettings
    from hub.db.engine import make_engine
    from hub.db.models import metadata
    from hub.host.context import HubContext

    hub_clock.set(scenario_module.TODAY)
    engine = make_engine(url)
    metadata.create_all(engine)
    systems = scenario_module.FakeSystems(documents=scenario_module.external_documents())
    ctx = HubContext(settings=HubSettings(data_dir=tmp_path / "data",
                                          connections=scenario_module.CONNECTIONS),
                     engine=engine, plugins=make_plugin_host(systems), clock=hub_clock)
    return ctx, systems


def _numbers_table(engine, count: int) -> None:
    """Table ``t`` of the integers 1..``count`` (column ``k``), for the streaming tests."""
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO t SELECT generate_series(1, :count)"), {"count": count})


@pytest.mark.postgres
@pytest.mark.parametrize("force_collate", [False, True])
def test_reconcile_postgres_finds_exactly_the_planted_differences(
        hub_postgres_url, tmp_path, hub_clock, make_plugin_host, monkeypatch, force_collate,
        scenario_module):
    from hub.reconcile import reading

    if force_collate:
        monkeypatch.setattr(reading, "_codepoint_collation", lambda engine: False)
    ctx, systems = _scenario(hub_postgres_url, tmp_path, hub_clock, make_plugin_host,
                             scenario_module)
    engine = ctx.engine
    try:
        ids = scenario_module.seed(engine)
        systems.usage[(ids["acme"], "M365-BP")] = "45"
        differences = list(reconcile(ctx, list(SECTIONS), Options(today=ctx.today()),
                                     NullProgress()))
        assert Counter((d.section, d.kind) for d in differences) == Counter(
            scenario_module.EXPECTED.keys())
        for d in differences:
            assert d.at_stake.amount == scenario_module.EXPECTED[(d.section, d.kind)]
        assert Totals.of(differences).by_currency["USD"].amount == sum(
            scenario_module.EXPECTED.values())
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_reconcile_postgres_streams_every_row_through_the_streaming_thread(hub_postgres_url,
                                                                            monkeypatch):
    """A stream read by a thread: every row once, in order, at any batch size, through a
    server-side cursor or as one query's rows (planned as usual, or in index order, after
    which the connection's statements are planned as usual again); a reader that stops early
    and closes its connection stops the thread (and does not wait for it)."""
    import threading
    import time

    from sqlalchemy import event, text

    from hub.db.engine import make_engine
    from hub.reconcile import batches
    from hub.reconcile.batches import Reading
    from hub.reconcile.reading import read_only, stream_tuples

    engine = make_engine(hub_postgres_url)
    try:
        _numbers_table(engine, 12345)
        with read_only(engine) as reader:
            with reader.connect() as conn:
                usual = conn.exec_driver_sql(_PLANNER_SETTINGS).one()
            for batch in (1, 7, 1000, 12345, 20000):
                for reading in (True, False, Reading.INDEX_ORDER):
                    with reader.connect() as conn:
                        # SQLAlchemy runs a cursor's statement; one query goes to the driver
                        through = []
                        event.listen(conn, "before_cursor_execute",
                                     lambda _c, cur, *_a: through.append(cur))
                        rows = list(stream_tuples(conn, text(
                            "SELECT k, current_setting('enable_sort') FROM t ORDER BY k"),
                            batch, reading))
                        keys = [row[0] for row in rows]
                        # planned without a sort while it ran, as usual afterwards
                        assert {row[1] for row in rows} == {
                            "off" if reading is Reading.INDEX_ORDER else "on"}
                        declared = conn.exec_driver_sql(
                            "SELECT count(*) FROM pg_cursors").scalar()
                        after = conn.exec_driver_sql(_PLANNER_SETTINGS).one()
                    assert keys == list(range(1, 12346)), (batch, reading)
                    assert bool(through[:-2]) is (reading is True), (batch, reading)
                    assert declared == 0, (batch, reading)  # a cursor is closed at its end
                    assert after == usual, (batch, reading)
            # batches that start small and double (3, 6, 12, ... up to 1000) miss nothing
            monkeypatch.setattr(batches, "FIRST_BATCH", 3)
            with reader.connect() as conn:
                keys = [row[0] for row in stream_tuples(
                    conn, text("SELECT k FROM t ORDER BY k"), 1000)]
            assert keys == list(range(1, 12346))
            with reader.connect() as conn:
                rows = iter(stream_tuples(conn, text("SELECT k FROM t ORDER BY k"), 100))
                assert [next(rows)[0] for _ in range(3)] == [1, 2, 3]
            deadline = time.monotonic() + 5
            while any(t.name == "hub-reconcile-prefetch" for t in threading.enumerate()):
                assert time.monotonic() < deadline, "prefetching thread outlived its reader"
                time.sleep(0.05)
    finally:
        engine.dispose()


#: the planner settings a stream read in index order changes for its statement
_PLANNER_SETTINGS = ("SELECT current_setting('enable_sort'), current_setting('enable_hashjoin'), "
                     "current_setting('enable_mergejoin'), "
                     "current_setting('max_parallel_workers_per_gather')")


@pytest.mark.postgres
def test_reconcile_postgres_index_order_settings_do_not_outlive_the_stream(hub_postgres_url):
    """A stream read in index order changes the planner's settings for its statement only:
    afterwards, in the same transaction, they are what they were before (a session's own
    value included), whether its rows were all read or it was closed early after the server
    had sent them. On an autocommit connection it is read as one query planned as usual."""
    import time

    from sqlalchemy import text

    from hub.db.engine import make_engine
    from hub.reconcile.batches import Reading
    from hub.reconcile.reading import read_only, stream_tuples

    engine = make_engine(hub_postgres_url)
    try:
        _numbers_table(engine, 3000)
        query = text("SELECT k, current_setting('enable_sort') FROM t ORDER BY k")
        with read_only(engine) as reader, reader.connect() as conn:
            conn.exec_driver_sql("SET enable_hashjoin = off")  # the session's own value
            before = conn.exec_driver_sql(_PLANNER_SETTINGS).one()
            assert before[:2] == ("on", "off")
            rows = list(stream_tuples(conn, query, 100, Reading.INDEX_ORDER))
            assert [row[0] for row in rows] == list(range(1, 3001))
            assert {row[1] for row in rows} == {"off"}
            assert conn.exec_driver_sql(_PLANNER_SETTINGS).one() == before

            # batches of 100: the thread waits to hand the third over, the rest unread, all
            # sent by the server (closing then cancels nothing, and the transaction goes on)
            early = stream_tuples(conn, query, 100, Reading.INDEX_ORDER)
            assert next(iter(early))[0] == 1
            time.sleep(0.3)
            early.close()
            assert conn.exec_driver_sql(_PLANNER_SETTINGS).one() == before
            conn.exec_driver_sql("RESET enable_hashjoin")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            rows = list(stream_tuples(conn, query, 100, Reading.INDEX_ORDER))
            assert [row[0] for row in rows] == list(range(1, 3001))
            assert {row[1] for row in rows} == {"on"}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_reconcile_postgres_stream_holds_its_connection_until_its_last_row(hub_postgres_url):
    """Lookups asked while a stream is being read go to a connection of their own, made on
    first need; once the stream has ended, or has been closed early, they go to the stream's.
    A stream may make its connection itself (in its thread), and closing it closes that. A
    server error in the middle of a stream reaches the reader as SQLAlchemy's error."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from hub.db.engine import make_engine
    from hub.reconcile.background import LookupConnection, StreamedRows
    from hub.reconcile.batches import Reading
    from hub.reconcile.reading import read_only, stream_tuples

    engine = make_engine(hub_postgres_url)
    try:
        _numbers_table(engine, 12345)
        query = text("SELECT k FROM t ORDER BY k")
        with read_only(engine) as reader, reader.connect() as conn:
            lookup = LookupConnection(reader)
            lookup.stream = stream_tuples(conn, query, 100)
            rows = iter(lookup.stream)
            assert [next(rows)[0] for _ in range(3)] == [1, 2, 3]
            assert not lookup.stream.finished
            own = lookup()
            assert own is not conn
            assert own.execute(text("SELECT count(*) FROM t")).scalar() == 12345
            assert lookup() is own  # made once
            lookup.stream.close()  # stopped early: the query is cancelled
            assert lookup.stream.finished and lookup() is conn
            assert conn.execute(text("SELECT max(k) FROM t")).scalar() == 12345
            lookup.close()
            assert own.closed and not conn.closed

            lookup.stream = stream_tuples(conn, query, 1000)
            assert sum(1 for _ in lookup.stream) == 12345
            assert lookup.stream.finished and lookup() is conn

            # the stream's own connection, made in its thread from a statement it builds
            made = []
            owned = StreamedRows(reader, lambda c: made.append(c) or query, 1000)
            assert [row[0] for row in owned] == list(range(1, 12346))
            assert owned.finished and owned.connection is made[0]
            assert owned.connection.execute(text("SELECT 1")).scalar() == 1
            owned.close()
            assert made[0].closed
            early = StreamedRows(reader, query, 100)
            assert next(iter(early))[0] == 1
            early.close()
            assert early.finished and early.connection.closed

        failing = text("SELECT 1 / (k - 5000) FROM t ORDER BY k")
        # a cursor's batches, or one query's rows (planned as usual, or in index order)
        for server_cursor in (True, False, Reading.INDEX_ORDER):
            with read_only(engine) as reader, reader.connect() as conn:
                rows = StreamedRows(conn, query, 100, server_cursor)
                assert [row[0] for row in rows] == list(range(1, 12346))
                early = StreamedRows(conn, query, 100, server_cursor)
                assert next(iter(early))[0] == 1
                early.close()
                if server_cursor is not True:  # its query was cancelled: no transaction left
                    conn.rollback()
                assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 12345
                broken = StreamedRows(conn, failing, 100, server_cursor)
                with pytest.raises(DBAPIError, match="division by zero"):
                    list(broken)
                assert broken.finished
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("server_cursor", [True, False, "index order"])
def test_reconcile_postgres_a_stream_stops_with_its_connection(hub_postgres_url, server_cursor):
    """A stream whose last rows wait to be taken stops when its connection commits or closes;
    reading it afterwards says it was closed (rather than waiting for ever); and a stream that
    failed does not lend its connection to lookups."""
    import threading
    import time

    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError, ResourceClosedError

    from hub.db.engine import make_engine
    from hub.reconcile.background import LookupConnection, StreamedRows
    from hub.reconcile.reading import read_only

    def streaming_threads():
        return [t for t in threading.enumerate() if t.name == "hub-reconcile-prefetch"]

    if server_cursor == "index order":
        from hub.reconcile.batches import Reading

        server_cursor = Reading.INDEX_ORDER

    engine = make_engine(hub_postgres_url)
    try:
        _numbers_table(engine, 300)
        query = text("SELECT k FROM t ORDER BY k")
        with read_only(engine) as reader:
            with reader.connect() as conn:  # the whole stream is read; the reader stops early
                rows = iter(StreamedRows(conn, query, 100, server_cursor))
                assert next(rows)[0] == 1
                time.sleep(0.3)  # the thread reads every row and waits to hand the last over
            deadline = time.monotonic() + 5
            while streaming_threads():
                assert time.monotonic() < deadline, "the stream's thread outlived its connection"
                time.sleep(0.05)

            with reader.connect() as conn:
                rows = iter(StreamedRows(conn, query, 100, server_cursor))
                assert next(rows)[0] == 1
                conn.commit()
                with pytest.raises(ResourceClosedError):
                    for _ in range(400):
                        next(rows)

            with reader.connect() as conn:
                failing = StreamedRows(reader, text("SELECT 1 / (k - 250) FROM t ORDER BY k"),
                                       100, server_cursor)
                lookup = LookupConnection(reader)
                lookup.stream = failing
                with pytest.raises(DBAPIError, match="division by zero"):
                    list(failing)
                assert failing.failed
                assert lookup() is not failing.connection
                assert lookup().execute(text("SELECT count(*) FROM t")).scalar() == 300
                lookup.close()
                assert failing.connection.closed
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_reconcile_postgres_streaming_leaves_the_connection_to_client_side_cursors(
        hub_postgres_url):
    """A stream is a server-side cursor for its own statement only: the lookups asked on the
    same connection afterwards take one round trip each, not a DECLARE, FETCH and CLOSE."""
    from sqlalchemy import text

    from hub.db.engine import make_engine
    from hub.reconcile.reading import read_only, stream, stream_tuples

    engine = make_engine(hub_postgres_url)
    try:
        _numbers_table(engine, 20)
        with read_only(engine) as reader, reader.connect() as conn:
            assert len(list(stream_tuples(conn, text("SELECT k FROM t ORDER BY k"), 7))) == 20
            assert len(list(stream(conn, text("SELECT k FROM t ORDER BY k"), 7))) == 20
            assert "stream_results" not in conn.get_execution_options()
            result = conn.execute(text("SELECT k FROM t WHERE k < 3"))
            assert not result.context._is_server_side
            assert result.scalars().all() == [1, 2]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_reconcile_postgres_accounting_filters_by_organisation_and_window(
        hub_postgres_url, tmp_path, hub_clock, make_plugin_host, scenario_module):
    """The accounting statements' organisation and date filters (bound as an integer and
    dates) on PostgreSQL, as the SQLite scenario checks them."""
    import datetime as dt

    ctx, _ = _scenario(hub_postgres_url, tmp_path, hub_clock, make_plugin_host, scenario_module)
    engine = ctx.engine
    try:
        ids = scenario_module.seed(engine)
        globex = list(reconcile(ctx, ["accounting"], Options(
            today=ctx.today(), organisation_id=ids["globex"], since=dt.date(2026, 1, 1),
            until=dt.date(2026, 12, 31)), NullProgress()))
        assert {d.organisation_id for d in globex} == {ids["globex"]}
        assert Counter(d.kind for d in globex) == Counter(
            ["lines_differ", "missing_in_accounting", "extra_in_accounting"])
        assert list(reconcile(ctx, ["accounting"], Options(
            today=ctx.today(), until=dt.date(2026, 1, 31)), NullProgress())) == []
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("held", [5_000, 100])
def test_reconcile_postgres_stream_with_a_tail(hub_postgres_url, monkeypatch, held):
    """A stream read as one query with a tail (the documents missing at the other side, in
    the hub's stream's own pass) hands its keyed rows over, ends them at the first row with
    no key, and gives the rest as its tail. A tail the thread holds whole frees the stream's
    connection for the lookups asked after the keyed rows (they wait for it); a longer one
    comes through a queue while they go to a connection of their own. Through a cursor there
    is no tail."""
    import time

    from sqlalchemy import text
    from sqlalchemy.exc import ResourceClosedError

    from hub.db.engine import make_engine
    from hub.reconcile import background
    from hub.reconcile.background import LookupConnection, StreamedRows
    from hub.reconcile.batches import Reading
    from hub.reconcile.reading import read_only

    monkeypatch.setattr(background, "TAIL_HELD", held)
    engine = make_engine(hub_postgres_url)
    try:
        _numbers_table(engine, 12345)
        keyed = text("SELECT lpad(k::text, 6, '0'), k FROM t ORDER BY 1")
        # a tail of 3,086 rows: held whole by the thread, or (held=100) more than the tail's
        # queue takes, so that the thread is still reading it when the keyed rows have ended
        tailed = text("SELECT CASE WHEN k % 4 <> 0 THEN lpad(k::text, 6, '0') END, k FROM t "
                      "ORDER BY 1 NULLS LAST, k")
        chosen = []

        def with_tail(conn, reading):
            chosen.append(reading)
            return tailed if reading is Reading.QUERY else None

        with read_only(engine) as reader:
            lookup = LookupConnection(reader)
            lookup.stream = StreamedRows(reader, keyed, 1000, False, with_tail)
            assert [row[1] for row in lookup.stream] == [
                k for k in range(1, 12346) if k % 4]
            assert chosen == [Reading.QUERY] and lookup.stream.has_tail
            conn = lookup()
            assert (conn is lookup.stream.connection) == (held > 3086)
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 12345
            assert [row for row in lookup.stream.tail()] == [
                (None, k) for k in range(4, 12346, 4)]
            assert lookup.stream.finished
            lookup.close()

            through_cursor = StreamedRows(reader, keyed, 1000, True, with_tail)
            assert sum(1 for _ in through_cursor) == 12345
            assert chosen == [Reading.QUERY, Reading.CURSOR] and not through_cursor.has_tail
            with pytest.raises(ResourceClosedError):
                through_cursor.tail()
            through_cursor.close()

            # stopped in the middle of its tail (held=100: the thread waits to hand it over):
            # the thread ends, the connection is closed
            early = StreamedRows(reader, keyed, 1000, False, with_tail)
            assert sum(1 for _ in early) == 12345 - 3086
            early.settle()
            assert early.finished == (held > 3086)
            early.close()
            assert early.connection.closed

            # closed while it chooses: no query is sent, the thread ends
            def slow_choice(conn):
                time.sleep(0.3)
                return False

            closed_early = StreamedRows(reader, keyed, 1000, slow_choice, with_tail)
            closed_early.close()
            assert closed_early.finished and closed_early.connection.closed
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_reconcile_postgres_row_estimate_learns_the_collation_in_the_same_question(
        hub_postgres_url):
    """``estimated_rows`` with the engine learns the database's collation in its own round
    trip when it is not known yet (a stream asks both before its query), with the answer
    ``key_collation`` gives on its own."""
    from sqlalchemy import event

    from hub.db.engine import make_engine
    from hub.reconcile import reading

    engine = make_engine(hub_postgres_url)
    try:
        _numbers_table(engine, 10)
        url = engine.url.render_as_string(hide_password=True)
        reading._collation_of.pop(url, None)
        asked = []
        event.listen(engine, "before_cursor_execute", lambda *a: asked.append(a[2]))
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE t")
            asked.clear()
            assert reading.estimated_rows(conn, "t", engine) == 10
            assert len(asked) == 1 and "datcollate" in asked[0]
            learnt = reading._collation_of[url]
            assert reading.estimated_rows(conn, "t", engine) == 10
            assert len(asked) == 2 and "datcollate" not in asked[1]
            reading._collation_of.pop(url)
            assert reading.key_collation(engine, conn) == (None if learnt else "C")
            assert reading._collation_of[url] == learnt
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_reconcile_postgres_report_ended_early_starts_no_background_query(
        hub_postgres_url, monkeypatch):
    """The stream's thread chooses its way (and starts the missing documents' query in the
    background for a large report) while the report reads the other side. A report that ends before
    it has chosen (a plugin's error on its first page) leaves no thread and no connection
    behind."""
    import datetime as dt
    import threading
    import time

    from hub.db.engine import make_engine
    from hub.db.models import metadata
    from hub.reconcile import accounting
    from hub.reconcile.batches import Reading
    from hub.reconcile.core import NullProgress, Options

    def slow_choice(conn, table, engine):
        time.sleep(0.3)  # still choosing when the report ends
        return Reading.INDEX_ORDER  # the missing documents would be read in the background

    def failing_plugin():
        raise RuntimeError("the accounting system is down")
        yield

    started = []
    real_background = accounting.BackgroundRows
    monkeypatch.setattr(accounting, "stream_reading", slow_choice)
    monkeypatch.setattr(accounting, "BackgroundRows",
                        lambda *a: started.append(real_background(*a)) or started[-1])
    engine = make_engine(hub_postgres_url)
    try:
        metadata.create_all(engine)
        with pytest.raises(RuntimeError, match="is down"):
            list(accounting.compare_kind(engine, "books", accounting.KINDS["invoice"],
                                         failing_plugin(), Options(today=dt.date(2026, 3, 1)),
                                         NullProgress(),
                                         presorted=True))
        deadline = time.monotonic() + 5
        while any(t.name.startswith("hub-reconcile") for t in threading.enumerate()):
            assert time.monotonic() < deadline, [t.name for t in threading.enumerate()]
            time.sleep(0.05)
        assert started == []  # chosen after the report ended: nothing started
        assert engine.pool.checkedout() == 0
    finally:
        engine.dispose()
