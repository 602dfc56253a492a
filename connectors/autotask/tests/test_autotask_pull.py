"""Autotask connector against its sandbox: headers, nextPageUrl paging, incremental pulls,
time entries as ticket charges, deletions and the user counters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlmodel import Session, select

import hub_autotask.plugin as autotask_plugin
from hub import CountQuery
from hub.sources.stored_counters import counting_from
from hub.contract.connections import Connection
from hub.db.models import Contact, OrganisationMapping, Ticket, TicketCharge
from hub.host.plugins import build_plugin_host
from hub.sources.pulling import pull_connection
from hub.testing.vendors import serve_sandbox
from hub_autotask.sandbox import create_app, generate
from hub_autotask.settings import AutotaskSettings

PERIOD = dict(period_start=dt.date(2026, 11, 1), period_end=dt.date(2026, 11, 30))


@pytest.fixture
def engine(hub_engine):
    """The hub test kit's temporary SQLite database with every table."""
    return hub_engine


@pytest.fixture
def host():
    return build_plugin_host([("autotask", autotask_plugin)], load_entry_points=False)


@pytest.fixture
def sandbox():
    world = generate(companies=3, contacts_per_company=4, tickets_per_company=3,
                     entries_per_ticket=4)
    with serve_sandbox(create_app, world) as (data, control, url):
        yield data, control, url


def _connection(data, url, **settings):
    values = dict(base_url=url, username=data.username, secret=data.secret,
                  integration_code=data.integration_code, page_size=5, hourly_rate="95.00",
                  requests_per_minute=10_000,
                  contact_udf_attributes={"remote_access": "Remote Access"})
    values.update(settings)
    return Connection(name="at", plugin="autotask", settings=AutotaskSettings(**values))


def _rows(engine, model):
    with Session(engine) as session:
        return session.exec(select(model)).all()


def test_pull_stores_companies_contacts_tickets_and_billable_time(engine, host, sandbox):
    data, control, url = sandbox
    report = pull_connection(engine, host.hook, _connection(data, url), create_organisations=True)
    assert report.kinds["organisations"].created == 3
    assert report.kinds["contacts"].created == 12 and report.kinds["contacts"].pages == 3
    assert report.kinds["tickets"].created == 9

    contacts = {c.external_id: c for c in _rows(engine, Contact)}
    assert contacts["30001"].attributes == {"active": True, "remote_access": True}
    assert contacts["30002"].attributes["remote_access"] is False
    tickets = {t.external_id: t for t in _rows(engine, Ticket)}
    assert {t.status for t in tickets.values()} == {"In Progress", "Complete"}

    billable = {i for i, e in data.time_entries.items() if not e["isNonBillable"]}
    charges = {c.external_id: c for c in _rows(engine, TicketCharge)}
    assert set(charges) == {str(i) for i in billable} and len(charges) == 27
    first = charges["90001"]
    assert (first.quantity, first.unit_price, first.currency) == (Decimal("0.5"),
                                                                  Decimal("95"), "USD")
    assert first.ticket_id == tickets["70001"].id

    # every request carried the three Autotask headers; pages were followed by nextPageUrl
    assert all(h.get("apiintegrationcode") == data.integration_code
               and h.get("username") == data.username and h.get("secret") == data.secret
               for h in control.headers_seen)
    assert any(m == "GET" and p == "/V1.0/Contacts/query" for m, p, _ in control.requests)


def test_incremental_pulls_change_nothing_then_exactly_what_changed(engine, host, sandbox):
    data, control, url = sandbox
    connection = _connection(data, url)
    pull_connection(engine, host.hook, connection, create_organisations=True)
    second = pull_connection(engine, host.hook, connection)
    assert (second.created, second.updated, second.deleted) == (0, 0, 0)
    assert all(not k.full for name, k in second.kinds.items() if name != "time_entries")

    data.change("time_entries", 90002, hoursToBill=2.0)
    data.remove("time_entries", 90005)
    data.change("contacts", 30002, userDefinedFields=[{"name": "Remote Access", "value": "Yes"}])
    third = pull_connection(engine, host.hook, connection)
    assert third.kinds["contacts"].updated == 1
    assert third.kinds["time_entries"].updated == 1 and third.kinds["time_entries"].deleted == 1
    charges = {c.external_id: c for c in _rows(engine, TicketCharge)}
    assert charges["90002"].quantity == Decimal("2") and "90005" not in charges

    data.remove("tickets", 70009)
    full = pull_connection(engine, host.hook, connection, full=True)
    assert full.kinds["tickets"].deleted == 1
    gone = next(t for t in _rows(engine, Ticket) if t.external_id == "70009")
    assert gone.deleted_at_source is not None
    assert not [c for c in _rows(engine, TicketCharge) if c.ticket_id == gone.id]


def test_stored_and_live_user_counters_agree_with_the_sandbox(engine, host, sandbox):
    data, _, url = sandbox
    connection = _connection(data, url)
    pull_connection(engine, host.hook, connection, create_organisations=True)
    with Session(engine) as session:
        organisation_id = session.exec(select(OrganisationMapping).where(
            OrganisationMapping.external_id == "102")).one().organisation_id
    expected = sorted(f"{c['firstName']} {c['lastName']}" for c in data.contacts.values()
                      if c["companyID"] == 102
                      and c["userDefinedFields"][0]["value"] == "Yes")
    query = CountQuery(kind="users", organisation_id=organisation_id,
                       organisation_external_ids={"at": "102"},
                       filters={"attributes.remote_access": True}, **PERIOD)
    with counting_from(engine):
        stored = [a for a in host.hook.hub_count_licensed_users(connection=connection,
                                                                 query=query) if a]
    assert sorted(i.label for a in stored for i in a.items) == expected
    assert all(i.ref.startswith("contact:") for a in stored for i in a.items)

    live_connection = _connection(data, url, count_live=True)
    with counting_from(engine):
        live = [a for a in host.hook.hub_count_licensed_users(connection=live_connection,
                                                               query=query) if a]
    assert len(live) == 1  # the stored counter stands aside for a live connection
    assert sorted(i.label for i in live[0].items) == expected
    assert all(i.ref.startswith("at:contact:") for i in live[0].items)


def test_the_zone_is_found_from_the_user_name_once(engine, host, sandbox):
    from hub import PermanentError

    data, control, url = sandbox
    settings = dict(base_url=None, zone_lookup_url=url)
    connection = _connection(data, url, **settings)
    assert connection.settings.base_url is None  # the zone URL is no longer required
    first = pull_connection(engine, host.hook, connection, create_organisations=True)
    assert first.kinds["organisations"].created == 3
    lookups = [q for _, p, q in control.requests if p == "/V1.0/ZoneInformation"]
    assert lookups == [{"user": data.username}]

    pull_connection(engine, host.hook, connection)  # the zone is kept: asked once per user
    assert sum(p == "/V1.0/ZoneInformation" for _, p, _ in control.requests) == 1

    stranger = Connection(name="other", plugin="autotask", settings=AutotaskSettings(
        zone_lookup_url=url, username="nobody@example.com", secret=data.secret,
        integration_code=data.integration_code))
    with pytest.raises(PermanentError) as info:
        pull_connection(engine, host.hook, stranger, kinds=["organisations"])
    assert "found no zone for API user 'nobody@example.com'" in str(info.value)
    assert "no zone information for user 'nobody@example.com'" in info.value.vendor_message
    assert "check `username`" in info.value.hint
