"""A billing run is planned from current statistics (issue #21): tables loaded in bulk just
before it, or filled by the preview itself, are analyzed as autovacuum would analyze them, only
at once; tables whose statistics are current are left alone."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from sqlalchemy import insert, text

from hub.db import statistics
from hub.db.engine import make_engine
from hub.db.models import Organisation, metadata
from hub.db.statistics import refresh_stale

NOW = dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc)


def _organisations(conn, first: int, count: int) -> None:
    conn.execute(insert(Organisation.__table__), [
        {"id": i, "name": f"Org {i}", "currency": "USD", "billing_day": 1, "auto_bill": False,
         "require_invoice_group": False, "active": True, "attributes": {}, "created_at": NOW}
        for i in range(first, first + count)])


def _reltuples(engine, table: str) -> float:
    with engine.connect() as conn:
        return conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = :t AND "
                                 "relkind = 'r'"), {"t": table}).scalar_one()


def _flush_counts(engine) -> None:
    # The server publishes a session's row counts when its transaction ends, at most once a
    # second unless asked: ask, so the test does not depend on timing.
    with engine.connect() as conn:
        if conn.dialect.server_version_info >= (15,):
            conn.execute(text("SELECT pg_stat_force_next_flush()"))
            conn.commit()
        else:  # before 15 a collector process gathers them, every half second
            time.sleep(1.5)


@pytest.mark.postgres
def test_stale_tables_are_analyzed_and_current_ones_left_alone(hub_postgres_url):
    engine = make_engine(hub_postgres_url)
    metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            _organisations(conn, 1, 200)
        _flush_counts(engine)
        assert _reltuples(engine, "organisation") == -1  # never analyzed
        assert refresh_stale(engine, ["organisation", "asset"]) == ["organisation"]
        assert _reltuples(engine, "organisation") == 200
        # Current now: a second call reads the counters and analyzes nothing.
        assert refresh_stale(engine, ["organisation"]) == []
        with engine.begin() as conn:  # 10 more rows: under 50 + 10 % of 200
            _organisations(conn, 201, 10)
        _flush_counts(engine)
        assert refresh_stale(engine, ["organisation"]) == []
        with engine.begin() as conn:  # 100 more: over it
            _organisations(conn, 211, 100)
        _flush_counts(engine)
        assert refresh_stale(engine, ["organisation"]) == ["organisation"]
        assert _reltuples(engine, "organisation") == 310
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_preview_analyzes_a_freshly_loaded_database(hub_postgres_url, monkeypatch, tmp_path):
    from hub.billing import preview
    from hub.config import HubSettings
    from hub.db.models import RecurringInvoice, RecurringLine
    from hub.host.context import HubContext
    from hub.host.plugins import build_plugin_host

    engine = make_engine(hub_postgres_url)
    metadata.create_all(engine)
    run_date = dt.date(2026, 4, 1)
    try:
        with engine.begin() as conn:
            _organisations(conn, 1, 60)
            conn.execute(insert(RecurringInvoice.__table__), [
                {"id": i, "organisation_id": i, "name": "Managed services",
                 "frequency": "monthly", "interval": 1, "billing_day": 1,
                 "anchor_date": run_date, "service_start": run_date, "covered_from": run_date,
                 "next_run_date": run_date, "auto_bill": False,
                 "add_pending_ticket_charges": False, "ticket_status_filter": [],
                 "ticket_charge_order": "oldest_first", "active": True, "created_at": NOW}
                for i in range(1, 61)])
            conn.execute(insert(RecurringLine.__table__), [
                {"recurring_invoice_id": i, "position": 0, "line_type": "standard",
                 "description": "Support", "quantity": Decimal(1),
                 "unit_price": Decimal("10.00"), "tax_rate": Decimal(0), "counter_filters": {},
                 "active": True} for i in range(1, 61)])
        _flush_counts(engine)
        analyzed: list[list[str]] = []
        real = statistics.refresh_stale

        def recording(engine, tables):
            done = real(engine, tables)
            analyzed.append(done)
            return done

        monkeypatch.setattr("hub.billing.runs.refresh_stale", recording)
        host = build_plugin_host(load_entry_points=False)
        ctx = HubContext(settings=HubSettings(data_dir=tmp_path), engine=engine, plugins=host,
                         clock=lambda: NOW)
        summary = preview(ctx, run_date)
        assert summary.invoices == 60
        # Before anything is read, the bulk-loaded tables were analyzed (and only those).
        assert analyzed[0] == ["organisation", "recurringinvoice", "recurringline"]
        assert _reltuples(engine, "recurringline") == 60
    finally:
        engine.dispose()
