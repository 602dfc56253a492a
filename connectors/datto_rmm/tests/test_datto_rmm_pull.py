"""Datto RMM connector against its sandbox: log-in, nextPageUrl paging, device mapping, deleted
devices and idempotent pulls."""

from __future__ import annotations

import base64

import pytest
from sqlmodel import Session, select

import hub_datto_rmm.plugin as datto_plugin
from hub import PermanentError
from hub.contract.connections import Connection
from hub.db.models import Asset, OrganisationMapping
from hub.host.plugins import build_plugin_host
from hub.sources.pulling import pull_connection
from hub.testing.vendors import serve_sandbox
from hub_datto_rmm.sandbox import create_app, generate
from hub_datto_rmm.settings import DattoRmmSettings


@pytest.fixture
def engine(hub_engine):
    """The hub test kit's temporary SQLite database with every table."""
    return hub_engine


@pytest.fixture
def host():
    return build_plugin_host([("datto_rmm", datto_plugin)], load_entry_points=False)


@pytest.fixture
def sandbox():
    with serve_sandbox(create_app, generate(sites=3, devices_per_site=6)) as (data, control, url):
        yield data, control, url


def _connection(url, **settings):
    values = dict(base_url=url, api_key="sandbox-key", api_secret="sandbox-secret", page_size=5,
                  requests_per_minute=10_000)
    values.update(settings)
    return Connection(name="datto", plugin="datto_rmm", settings=DattoRmmSettings(**values))


def _assets(engine):
    with Session(engine) as session:
        return {a.external_id: a for a in session.exec(select(Asset)).all()}


def test_sites_and_devices_are_pulled_with_their_types(engine, host, sandbox):
    data, control, url = sandbox
    report = pull_connection(engine, host.hook, _connection(url), create_organisations=True)
    assert report.kinds["organisations"].created == 3
    assert report.kinds["assets"].created == 18 and report.kinds["assets"].pages == 4
    assets = _assets(engine)
    assert set(assets) == set(data.devices)
    types = {a.asset_type for a in assets.values()}
    assert types == {"workstation", "server", "printer", "network"}
    offline = {uid for uid, d in data.devices.items() if not d["online"]}
    assert {uid for uid, a in assets.items() if a.status == "offline"} == offline
    with Session(engine) as session:
        mappings = session.exec(select(OrganisationMapping)).all()
    assert {m.external_id for m in mappings} == set(data.sites)
    # log-in used Datto's public client and the password grant
    token_headers = control.headers_seen[0]
    assert token_headers["authorization"] == "Basic " + base64.b64encode(
        b"public-client:public").decode()
    assert ("GET", "/api/v2/account/devices", {"page": "1", "max": "5"}) in control.requests


def test_a_second_pull_changes_nothing_and_deleted_devices_are_marked(engine, host, sandbox):
    data, _, url = sandbox
    connection = _connection(url)
    pull_connection(engine, host.hook, connection, create_organisations=True)
    second = pull_connection(engine, host.hook, connection)
    assert (second.created, second.updated, second.deleted) == (0, 0, 0)

    flagged, removed = list(data.devices)[:2]
    data.devices[flagged]["deleted"] = True  # Datto still lists it, flagged deleted
    del data.devices[removed]  # gone from the listing altogether
    third = pull_connection(engine, host.hook, connection)
    assert third.kinds["assets"].deleted == 2
    assets = _assets(engine)
    assert assets[flagged].deleted_at_source is not None
    assert assets[removed].deleted_at_source is not None


def test_wrong_secret_is_a_permanent_error(engine, host, sandbox):
    _, _, url = sandbox
    with pytest.raises(PermanentError, match="invalid_grant"):
        pull_connection(engine, host.hook, _connection(url, api_secret="nope"),
                        kinds=["organisations"])
