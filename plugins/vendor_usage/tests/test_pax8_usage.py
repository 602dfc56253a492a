"""Pax8 against its sandbox: companies, subscriptions as licence counts, usage lines, the
stored and live vendor-usage counters, cancelled subscriptions and unmapped products."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlmodel import Session, select

import hub_vendor_usage.plugin as vendor_plugin
from hub import CountQuery
from hub.sources.stored_counters import counting_from
from hub.contract.connections import Connection
from hub.db.models import OrganisationMapping, UsageSnapshot
from hub.host.plugins import build_plugin_host
from hub.sources.pulling import pull_connection
from hub.testing.vendors import serve_sandbox
from hub_vendor_usage.sandbox import create_app, generate, uuid_for
from hub_vendor_usage.settings import Pax8Settings

NOV = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
TODAY = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def engine(hub_engine):
    """The hub test kit's temporary SQLite database with every table."""
    return hub_engine


@pytest.fixture
def host():
    return build_plugin_host([("vendor_usage", vendor_plugin)], load_entry_points=False)


@pytest.fixture
def sandbox():
    with serve_sandbox(create_app, generate(companies=6)) as (data, control, url):
        yield data, control, url


def _connection(data, url, **settings):
    sku_map = {product: sku for sku, product in data.product_ids().items() if sku != "DEF-EP"}
    values = dict(base_url=url, client_id="sandbox-client", client_secret="sandbox-secret",
                  page_size=2, sku_map=sku_map, requests_per_minute=10_000)
    values.update(settings)
    return Connection(name="pax8", plugin="pax8", settings=Pax8Settings(**values),
                      clock=lambda: TODAY)


def _snapshots(engine):
    with Session(engine) as session:
        return {s.external_id: s for s in session.exec(select(UsageSnapshot)).all()}


def _organisation(engine, company_id):
    with Session(engine) as session:
        return session.exec(select(OrganisationMapping).where(
            OrganisationMapping.external_id == company_id)).one().organisation_id


def test_subscriptions_and_usage_lines_are_stored_once(engine, host, sandbox):
    data, control, url = sandbox
    connection = _connection(data, url)
    report = pull_connection(engine, host.hook, connection, create_organisations=True,
                             period=NOV)
    assert report.kinds["organisations"].created == 6
    snapshots = _snapshots(engine)
    subs = {k: v for k, v in snapshots.items() if k.startswith("sub:")}
    assert set(subs) == {f"sub:{i}" for i in data.subscriptions}
    first = data.subscriptions[uuid_for(3, 1)]
    stored = subs[f"sub:{first['id']}"]
    assert (stored.sku, stored.quantity, stored.description) == (
        "M365-BP", Decimal(first["quantity"]), first["productName"])
    assert (stored.period_start, stored.period_end) == NOV
    assert stored.unit_cost == Decimal("22")
    # usage lines only for days up to today (1 and 2 November) of the Azure companies
    lines = {k: v for k, v in snapshots.items() if k.startswith("line:")}
    assert len(lines) == 2 * len(data.summaries)
    assert {v.period_start for v in lines.values()} == {dt.date(2026, 11, 1),
                                                        dt.date(2026, 11, 2)}
    # the unmapped product keeps its Pax8 productId as SKU: reported, never dropped
    assert uuid_for(2, 3) in {s.sku for s in subs.values()}
    assert ("GET", "/v1/companies", {"page": "1", "size": "2"}) in control.requests

    again = pull_connection(engine, host.hook, connection, period=NOV)
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)


def test_the_counters_bill_what_pax8_holds_and_a_cancelled_one_stops(engine, host, sandbox):
    data, _, url = sandbox
    connection = _connection(data, url)
    pull_connection(engine, host.hook, connection, create_organisations=True, period=NOV)
    company = uuid_for(1, 2)
    organisation_id = _organisation(engine, company)
    query = CountQuery(kind="usage", organisation_id=organisation_id,
                       organisation_external_ids={"pax8": company}, filters={"sku": "M365-BS"},
                       period_start=NOV[0], period_end=NOV[1])
    expected = [s for s in data.subscriptions.values()
                if s["companyId"] == company and s["productId"] == uuid_for(2, 2)]
    assert expected
    with counting_from(engine):
        stored = [a for a in host.hook.hub_fetch_vendor_usage(connection=connection, query=query)
                  if a]
    items = [i for a in stored for i in a.items]
    assert [(i.label, i.quantity) for i in items] == \
        [(s["productName"], str(s["quantity"])) for s in expected]
    assert all(i.ref.startswith("usage:") for i in items)

    live = vendor_plugin.hub_fetch_vendor_usage(connection=_connection(data, url, count_live=True),
                                                query=query)
    assert [(i.ref, i.quantity) for i in live.items] == \
        [(f"pax8:subscription:{s['id']}", str(s["quantity"])) for s in expected]

    expected[0]["status"] = "Cancelled"
    report = pull_connection(engine, host.hook, connection, period=NOV)
    assert report.kinds["usage"].deleted == 1
    with counting_from(engine):
        after = [a for a in host.hook.hub_fetch_vendor_usage(connection=connection, query=query)
                 if a]
    assert [i for a in after for i in a.items] == []
