"""End to end, scaled down (bench/pull_sources.py runs the full 500/20,000/3,000): one hub
organisation mapped explicitly to a NinjaOne organisation, an Autotask company and a Pax8
company; after pulling the three sandboxes, the counters return exactly the devices, users and
subscriptions the sandboxes hold, as provenance; a second pull changes nothing; a device removed
at the source stops being counted."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

import hub_autotask.plugin as autotask_plugin
import hub_ninjaone.plugin as ninjaone_plugin
import hub_vendor_usage.plugin as vendor_plugin
from hub import CountQuery
from hub.sources.stored_counters import counting_from, hub_connection
from hub.contract.connections import Connection
from hub.db.engine import make_engine
from hub.db.models import Asset, Organisation, OrganisationMapping, TicketCharge, metadata
from hub.host.plugins import build_plugin_host
from hub.sources.pulling import pull_connection
from hub.testing.vendor_sandbox import serve
from hub_autotask import sandbox as autotask_sandbox
from hub_autotask.settings import AutotaskSettings
from hub_ninjaone import sandbox as ninjaone_sandbox
from hub_ninjaone.settings import NinjaOneSettings
from hub_vendor_usage import sandbox as pax8_sandbox
from hub_vendor_usage.settings import Pax8Settings

TODAY = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.timezone.utc)
NOV = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


@pytest.fixture
def world(tmp_path):
    engine = make_engine("sqlite:///" + str(tmp_path / "sources.sqlite"))
    metadata.create_all(engine)
    host = build_plugin_host([("ninjaone", ninjaone_plugin), ("autotask", autotask_plugin),
                              ("vendor_usage", vendor_plugin)], load_entry_points=False)
    ninja_data = ninjaone_sandbox.generate(organisations=6, devices_per_organisation=25)
    at_data = autotask_sandbox.generate(companies=6, contacts_per_company=5,
                                        tickets_per_company=4, entries_per_ticket=5)
    pax8_data = pax8_sandbox.generate(companies=6)
    with serve(ninjaone_sandbox.create_app(ninja_data)) as ninja_url, \
            serve(autotask_sandbox.create_app(at_data)) as at_url, \
            serve(pax8_sandbox.create_app(pax8_data)) as pax8_url:
        connections = {
            "ninja": Connection(name="ninja", plugin="ninjaone", settings=NinjaOneSettings(
                base_url=ninja_url, client_id=ninja_data.client_id, page_size=40,
                client_secret=ninja_data.client_secret, requests_per_minute=100_000)),
            "psa": Connection(name="psa", plugin="autotask", settings=AutotaskSettings(
                base_url=at_url, username=at_data.username, secret=at_data.secret,
                integration_code=at_data.integration_code, requests_per_minute=100_000,
                page_size=50, hourly_rate="95.00",
                contact_udf_attributes={"remote_access": "Remote Access"})),
            "pax8": Connection(name="pax8", plugin="pax8", clock=lambda: TODAY,
                               settings=Pax8Settings(
                                   base_url=pax8_url, client_id=pax8_data.client_id,
                                   client_secret=pax8_data.client_secret,
                                   requests_per_minute=100_000,
                                   sku_map={v: k for k, v in pax8_data.product_ids().items()})),
        }
        with Session(engine) as session:  # the MSP maps its customer at each source, by hand
            acme = Organisation(name="Acme Dental")
            session.add(acme)
            session.flush()
            session.add_all([
                OrganisationMapping(connection="ninja", external_id="3", organisation_id=acme.id),
                OrganisationMapping(connection="psa", external_id="103", organisation_id=acme.id),
                OrganisationMapping(connection="pax8", external_id=pax8_sandbox.uuid_for(1, 3),
                                    organisation_id=acme.id)])
            session.commit()
            acme_id = acme.id
        yield engine, host, connections, ninja_data, at_data, pax8_data, acme_id


def _count(engine, host, connections, kind, organisation_id, filters):
    hook = {"assets": host.hook.hub_count_assets, "users": host.hook.hub_count_licensed_users,
            "usage": host.hook.hub_fetch_vendor_usage}[kind]
    query = CountQuery(kind=kind, organisation_id=organisation_id, filters=filters,
                       period_start=NOV[0], period_end=NOV[1])
    items = []
    with counting_from(engine):
        for connection in [hub_connection(), *connections.values()]:
            items += [i for answer in hook(connection=connection, query=query) if answer
                      for i in answer.items]
    return items


def test_counts_for_an_organisation_are_exactly_what_the_sandboxes_hold(world):
    engine, host, connections, ninja_data, at_data, pax8_data, acme = world
    for connection in connections.values():
        pull_connection(engine, host.hook, connection, period=NOV)  # nothing guessed: no import

    devices = _count(engine, host, connections, "assets", acme,
                     {"asset_type": ["workstation", "server"]})
    expected_devices = {d["displayName"] for d in ninja_data.devices_of(3)
                        if ninjaone_plugin.asset_record(d).asset_type
                        in ("workstation", "server")}
    assert sorted(i.label for i in devices) == sorted(expected_devices)
    assert len({i.ref for i in devices}) == len(devices)  # nobody counted twice

    users = _count(engine, host, connections, "users", acme, {"attributes.remote_access": True})
    expected_users = {f"{c['firstName']} {c['lastName']}" for c in at_data.contacts.values()
                      if c["companyID"] == 103 and c["userDefinedFields"][0]["value"] == "Yes"}
    assert sorted(i.label for i in users) == sorted(expected_users)

    usage = _count(engine, host, connections, "usage", acme, {"sku": ["M365-BP", "M365-BS"]})
    company = pax8_sandbox.uuid_for(1, 3)
    expected_subs = sorted((s["productName"], str(s["quantity"]))
                           for s in pax8_data.subscriptions.values()
                           if s["companyId"] == company and s["productName"].startswith("Micro")
                           and "Defender" not in s["productName"])
    assert sorted((i.label, i.quantity) for i in usage) == expected_subs

    # the other companies were seen, recorded as unmapped and their facts held, not dropped
    with Session(engine) as session:
        unmapped = session.exec(select(OrganisationMapping).where(
            OrganisationMapping.organisation_id.is_(None))).all()
        assert {m.connection for m in unmapped} == {"ninja", "psa", "pax8"}
        assert session.exec(select(TicketCharge)).all()  # Acme's billable time is stored


def test_a_second_pull_changes_nothing_and_a_removed_device_stops_counting(world):
    engine, host, connections, ninja_data, _, _, acme = world
    for connection in connections.values():
        pull_connection(engine, host.hook, connection, period=NOV)
    again = [pull_connection(engine, host.hook, c, period=NOV) for c in connections.values()]
    assert sum(r.created + r.updated + r.deleted for r in again) == 0

    before = {i.label: i.ref for i in _count(engine, host, connections, "assets", acme, {})}
    victim = ninja_data.devices_of(3)[4]
    del ninja_data.devices[victim["id"]]
    report = pull_connection(engine, host.hook, connections["ninja"], period=NOV)
    assert report.kinds["assets"].deleted == 1
    after = {i.label: i.ref for i in _count(engine, host, connections, "assets", acme, {})}
    assert set(before) - set(after) == {victim["displayName"]}
    with Session(engine) as session:
        row = session.get(Asset, int(before[victim["displayName"]].split(":")[1]))
        assert row.deleted_at_source is not None  # marked, not silently kept
