"""A bulk pull leaves PostgreSQL's planner statistics current (issue #21): the tables of a kind
that changed at least ANALYZE_AFTER_ROWS rows are analyzed before the pull returns, so a billing
run started right after it is not planned for empty tables."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel
from sqlalchemy import text

from hub import AssetRecord, ContactRecord, OrganisationRecord, PullPage, hookimpl
from hub.contract.connections import Connection
from hub.db.engine import make_engine
from hub.db.models import metadata
from hub.host.plugins import build_plugin_host
from hub.sources import statistics
from hub.sources.pulling import pull_connection

NOW = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.timezone.utc)


class _Settings(BaseModel):
    pass


class BulkSource:
    """Two organisations, 12 assets and 3 contacts, one page each."""

    def _page(self, connection, records):
        if connection.plugin != "bulk":
            return None
        return PullPage(records=tuple(records), cursor=None, complete=True, full=True)

    @hookimpl
    def hub_pull_organisations(self, connection, since, cursor):
        return self._page(connection, [OrganisationRecord(external_id=f"c{i}", name=f"Org {i}")
                                       for i in range(2)])

    @hookimpl
    def hub_pull_assets(self, connection, since, cursor):
        return self._page(connection, [AssetRecord(external_id=f"d{i}",
                                                   organisation_external_id=f"c{i % 2}",
                                                   name=f"PC-{i}", asset_type="workstation")
                                       for i in range(12)])

    @hookimpl
    def hub_pull_contacts(self, connection, since, cursor):
        return self._page(connection, [ContactRecord(external_id=f"p{i}",
                                                     organisation_external_id="c0",
                                                     name=f"Person {i}") for i in range(3)])


def _pull(engine):
    host = build_plugin_host([("bulk", BulkSource())], load_entry_points=False)
    connection = Connection(name="src", plugin="bulk", settings=_Settings(), clock=lambda: NOW)
    return pull_connection(engine, host.hook, connection, create_organisations=True)


@pytest.mark.postgres
def test_a_bulk_pull_analyzes_the_tables_it_filled_on_postgresql(hub_postgres_url, monkeypatch):
    monkeypatch.setattr(statistics, "ANALYZE_AFTER_ROWS", 10)
    engine = make_engine(hub_postgres_url)
    metadata.create_all(engine)
    try:
        report = _pull(engine)
        assert report.kinds["assets"].created == 12 and report.kinds["contacts"].created == 3
        with engine.connect() as conn:
            # reltuples is -1 until a table is first analyzed (or vacuumed)
            tuples = dict(conn.execute(text(
                "SELECT relname, reltuples FROM pg_class WHERE relname IN "
                "('asset', 'contact') AND relkind = 'r'")).all())
        assert tuples["asset"] == 12  # 12 changed rows >= 10: analyzed
        assert tuples["contact"] == -1  # 3 changed rows: left to autovacuum
    finally:
        engine.dispose()


def test_sqlite_needs_no_statistics(hub_engine, monkeypatch):
    monkeypatch.setattr(statistics, "ANALYZE_AFTER_ROWS", 1)
    report = _pull(hub_engine)
    assert statistics.refresh_statistics(hub_engine, report.kinds) == []
