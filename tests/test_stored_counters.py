"""hub.sources.stored_counters: counts of stored rows, line provenance, and the rule that keeps
one device from being counted twice (by source, by ``count_live``, by deletion)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import BaseModel
from sqlmodel import Session

from hub import Counted, CountedItem, CountQuery, hookimpl
from hub.sources import stored_counters
from hub.sources.stored_counters import count_stored, counting_from, hub_connection
from hub.contract.connections import Connection
from hub.db.engine import make_engine
from hub.db.models import Asset, Contact, Organisation, UsageSnapshot, metadata
from hub.errors import PluginError, ValidationFailed
from hub.host.plugins import build_plugin_host

NOV = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


class _Rmm(BaseModel):
    count_live: bool = False


@pytest.fixture
def engine(tmp_path):
    eng = make_engine("sqlite:///" + str(tmp_path / "counters.sqlite"))
    metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def world(engine):
    """Two organisations; assets from a connection 'rmm', by hand, and deleted ones."""
    with Session(engine, expire_on_commit=False) as s:
        acme, other = Organisation(name="Acme"), Organisation(name="Other")
        s.add_all([acme, other])
        s.flush()
        assets = [
            Asset(organisation_id=acme.id, name="WS-1", asset_type="workstation",
                  policy="Standard", source="rmm", external_id="1"),
            Asset(organisation_id=acme.id, name="WS-2", asset_type="workstation",
                  policy="Standard", status="offline", source="rmm", external_id="2"),
            Asset(organisation_id=acme.id, name="SRV-1", asset_type="server", policy="Servers",
                  source="rmm", external_id="3", attributes={"os": "linux"}),
            Asset(organisation_id=acme.id, name="WS-gone", asset_type="workstation",
                  source="rmm", external_id="4",
                  deleted_at_source=dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)),
            Asset(organisation_id=acme.id, name="Hand-made", asset_type="workstation"),
            Asset(organisation_id=other.id, name="WS-other", asset_type="workstation",
                  source="rmm", external_id="5"),
        ]
        contacts = [
            Contact(organisation_id=acme.id, name="Ann", attributes={"remote_access": True},
                    source="psa", external_id="c1"),
            Contact(organisation_id=acme.id, name="Bob", attributes={"remote_access": False},
                    source="psa", external_id="c2"),
            Contact(organisation_id=acme.id, name="Cid", attributes={"remote_access": True},
                    source="psa", external_id="c3",
                    deleted_at_source=dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)),
            Contact(organisation_id=acme.id, name="Dee", attributes={"remote_access": True}),
        ]
        usage = [
            UsageSnapshot(organisation_id=acme.id, source="pax8", external_id="sub:1",
                          tenant_external_id="t1", sku="M365-BP", description="M365 BP",
                          quantity=Decimal("12"), period_start=NOV[0], period_end=NOV[1]),
            UsageSnapshot(organisation_id=acme.id, source="pax8", external_id="sub:1",
                          tenant_external_id="t1", sku="M365-BP", description="M365 BP (Oct)",
                          quantity=Decimal("10"), period_start=dt.date(2026, 10, 1),
                          period_end=dt.date(2026, 10, 31)),
            UsageSnapshot(organisation_id=acme.id, source="pax8", external_id="line:1",
                          tenant_external_id="t1", sku="AZURE", description="Azure 11-03",
                          quantity=Decimal("2.5"), period_start=dt.date(2026, 11, 3),
                          period_end=dt.date(2026, 11, 3)),
            UsageSnapshot(organisation_id=acme.id, source="pax8", external_id="sub:2",
                          tenant_external_id="t1", sku="M365-BS", quantity=Decimal("4"),
                          period_start=NOV[0], period_end=NOV[1],
                          deleted_at_source=dt.datetime(2026, 11, 5, tzinfo=dt.timezone.utc)),
        ]
        s.add_all(assets + contacts + usage)
        s.commit()
        return {"acme": acme.id, "other": other.id,
                "assets": {a.name: a.id for a in assets},
                "contacts": {c.name: c.id for c in contacts},
                "usage": [u.id for u in usage]}


def _query(kind, organisation_id, **filters):
    return CountQuery(kind=kind, organisation_id=organisation_id, filters=filters,
                      period_start=NOV[0], period_end=NOV[1])


def _rmm(live=False):
    return Connection(name="rmm", plugin="some_rmm", settings=_Rmm(count_live=live))


def test_assets_of_a_connection_with_filters_and_provenance(engine, world):
    with counting_from(engine):
        counted = stored_counters.hub_count_assets(
            connection=_rmm(), query=_query("assets", world["acme"], asset_type=["workstation"]))
    ids = world["assets"]
    assert counted.source == "rmm"
    assert counted.items == (CountedItem(ref=f"asset:{ids['WS-1']}", label="WS-1"),
                             CountedItem(ref=f"asset:{ids['WS-2']}", label="WS-2"))
    assert counted.quantity == 2

    with counting_from(engine):
        active = stored_counters.hub_count_assets(
            connection=_rmm(), query=_query("assets", world["acme"], asset_type="workstation",
                                            status=["active"], policy="Standard"))
        linux = stored_counters.hub_count_assets(
            connection=_rmm(), query=_query("assets", world["acme"], **{"attributes.os": "linux"}))
    assert [i.label for i in active.items] == ["WS-1"]
    assert [i.label for i in linux.items] == ["SRV-1"]


def test_rows_by_hand_are_counted_only_for_the_hub_connection(engine, world):
    with counting_from(engine):
        by_hand = stored_counters.hub_count_assets(
            connection=hub_connection(), query=_query("assets", world["acme"]))
    assert [i.label for i in by_hand.items] == ["Hand-made"]


def test_each_device_is_counted_exactly_once_across_all_answers(engine, world):
    answers = count_stored(engine, [_rmm()], _query("assets", world["acme"]))
    refs = [item.ref for answer in answers for item in answer.items]
    assert len(refs) == len(set(refs)) == 4  # WS-1, WS-2, SRV-1, Hand-made; not WS-gone
    assert f"asset:{world['assets']['WS-gone']}" not in refs


def test_a_connection_that_counts_live_is_left_to_its_own_counter(engine, world):
    with counting_from(engine):
        assert stored_counters.hub_count_assets(
            connection=_rmm(live=True), query=_query("assets", world["acme"])) is None


def test_through_the_plugin_host_the_live_counter_and_the_stored_one_never_overlap(engine, world):
    class LiveRmm:
        @hookimpl
        def hub_count_assets(self, connection, query):
            if connection.plugin != "some_rmm" or not connection.settings.count_live:
                return None
            return Counted(source=connection.name,
                           items=(CountedItem(ref="rmm:device:1", label="WS-1"),))

    host = build_plugin_host([("live", LiveRmm())], load_entry_points=False)
    for live, expected in ((False, {"WS-1", "WS-2", "SRV-1"}), (True, {"WS-1"})):
        with counting_from(engine):
            answers = host.hook.hub_count_assets(connection=_rmm(live),
                                                 query=_query("assets", world["acme"]))
        assert len(answers) == 1
        assert {i.label for i in answers[0].items} == expected


def test_users_filter_on_contact_attributes_and_skip_deleted(engine, world):
    psa = Connection(name="psa", plugin="some_psa", settings=_Rmm())
    answers = count_stored(engine, [psa],
                           _query("users", world["acme"], **{"attributes.remote_access": True}))
    labels = sorted(i.label for a in answers for i in a.items)
    assert labels == ["Ann", "Dee"]  # Cid is deleted at the source, Bob has no remote access
    refs = {i.ref for a in answers for i in a.items}
    assert f"contact:{world['contacts']['Ann']}" in refs


def test_usage_by_sku_and_period_with_quantities(engine, world):
    pax8 = Connection(name="pax8", plugin="pax8", settings=_Rmm())
    with counting_from(engine):
        bp = stored_counters.hub_fetch_vendor_usage(
            connection=pax8, query=_query("usage", world["acme"], sku="M365-BP"))
        everything = stored_counters.hub_fetch_vendor_usage(
            connection=pax8, query=_query("usage", world["acme"]))
    assert bp.items == (CountedItem(ref="usage:pax8:sub:1", label="M365 BP",
                                    quantity="12"),)
    assert everything.quantity == Decimal("14.5")  # October and the deleted BS are not counted


def test_unknown_filters_and_a_missing_database_are_refused(engine, world):
    with counting_from(engine), pytest.raises(ValidationFailed, match="asset_typ"):
        stored_counters.hub_count_assets(connection=_rmm(),
                                         query=_query("assets", world["acme"], asset_typ="x"))
    with pytest.raises(PluginError, match="without a database") as refused:
        stored_counters.hub_count_assets(connection=_rmm(), query=_query("assets", 1))
    assert "counting_from" in refused.value.hint


def test_a_source_that_knows_nothing_of_the_organisation_answers_none(engine, world):
    xero = Connection(name="xero", plugin="xero", settings=_Rmm())
    with counting_from(engine):
        assert stored_counters.hub_count_assets(
            connection=xero, query=_query("assets", world["acme"])) is None
        none_matching = stored_counters.hub_count_assets(
            connection=_rmm(), query=_query("assets", world["acme"], asset_type="printer"))
    assert none_matching == Counted(source="rmm", items=())
