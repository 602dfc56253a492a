"""NinjaOne connector against its sandbox: paging, mapping, idempotent pulls, removed devices,
rate limits, failures and the live asset counter."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

import hub_ninjaone.plugin as ninjaone_plugin
from hub import CountQuery, PermanentError, TransientError
from hub.sources.stored_counters import counting_from
from hub.contract.connections import Connection
from hub.db.models import Asset, OrganisationMapping
from hub.host.plugins import build_plugin_host
from hub.sources.pulling import pull_connection
from hub.testing.vendors import serve_sandbox
from hub_ninjaone.sandbox import create_app, generate
from hub_ninjaone.settings import NinjaOneSettings

PERIOD = dict(period_start=dt.date(2026, 11, 1), period_end=dt.date(2026, 11, 30))


@pytest.fixture
def engine(hub_engine):
    """The hub test kit's temporary SQLite database with every table."""
    return hub_engine


@pytest.fixture
def host():
    return build_plugin_host([("ninjaone", ninjaone_plugin)], load_entry_points=False)


@pytest.fixture
def sandbox():
    world = generate(organisations=4, devices_per_organisation=11)
    with serve_sandbox(create_app, world) as (data, control, url):
        yield data, control, url


def _connection(url, **settings):
    values = dict(base_url=url, client_id="sandbox-client", client_secret="sandbox-secret",
                  page_size=10, timeout_seconds=2, requests_per_minute=10_000)
    values.update(settings)
    return Connection(name="ninja", plugin="ninjaone", settings=NinjaOneSettings(**values))


def _assets(engine):
    with Session(engine) as session:
        return {a.external_id: a for a in session.exec(select(Asset)).all()}


def test_pull_stores_every_device_then_changes_nothing_and_marks_a_removed_one(
        engine, host, sandbox):
    data, control, url = sandbox
    connection = _connection(url)
    first = pull_connection(engine, host.hook, connection, create_organisations=True)
    assert first.kinds["organisations"].created == 4
    assert first.kinds["assets"].created == 44 and first.kinds["assets"].pages == 5
    # the OS report is asked per device page, filtered to that page's devices (a full report
    # page is followed by its cursor)
    os_calls = [q for m, p, q in control.requests if p == "/v2/queries/operating-systems"]
    assert len([q for q in os_calls if "df" in q]) == 5
    assert os_calls[0]["df"] == "id in (" + ",".join(str(i) for i in range(1001, 1011)) + ")"
    assert all("cursor" in q for q in os_calls if "df" not in q)
    assets = _assets(engine)
    assert set(assets) == {str(i) for i in data.devices}
    server = next(a for a in assets.values() if a.attributes["node_class"] == "WINDOWS_SERVER")
    assert (server.asset_type, server.policy, server.attributes["role"],
            server.attributes["os"], server.attributes["os_name"]) == (
        "server", "Servers - Managed", "Windows Server", "windows",
        "Windows Server 2022 Standard")
    switch = next(a for a in assets.values() if a.attributes["node_class"] == "NMS_SWITCH")
    assert (switch.asset_type, switch.attributes["os_name"]) == ("network", None)
    offline = [a for a in assets.values() if a.status == "offline"]
    assert len(offline) == sum(1 for d in data.devices.values()
                               if d["offline"] and d["approvalStatus"] == "APPROVED")
    assert server.last_seen is not None

    # paging by `after` = the last id of the previous page, pageSize as configured
    device_calls = [q for m, p, q in control.requests if p == "/v2/devices-detailed"]
    assert device_calls[0] == {"pageSize": "10"}
    assert device_calls[1] == {"pageSize": "10", "after": str(sorted(data.devices)[9])}

    second = pull_connection(engine, host.hook, connection)
    assert (second.created, second.updated, second.deleted) == (0, 0, 0)
    assert second.unchanged == 48

    removed = sorted(data.devices)[5]
    gone = data.devices.pop(removed)
    org = gone["organizationId"]
    third = pull_connection(engine, host.hook, connection)
    assert third.kinds["assets"].deleted == 1
    assert _assets(engine)[str(removed)].deleted_at_source is not None

    with Session(engine) as session:
        organisation_id = session.exec(select(OrganisationMapping).where(
            OrganisationMapping.external_id == str(org))).one().organisation_id
    query = CountQuery(kind="assets", organisation_id=organisation_id, **PERIOD)
    with counting_from(engine):
        answers = [a for a in host.hook.hub_count_assets(connection=connection, query=query) if a]
    labels = {item.label for answer in answers for item in answer.items}
    assert labels == {d["displayName"] for d in data.devices_of(org)}
    assert gone["displayName"] not in labels and len(labels) == 10


def test_the_token_is_fetched_once_and_reused(engine, host, sandbox):
    _, control, url = sandbox
    connection = _connection(url)
    pull_connection(engine, host.hook, connection, create_organisations=True)
    pull_connection(engine, host.hook, connection)
    assert control.count("/ws/oauth/token") == 1


def test_rate_limits_and_server_errors_are_waited_out(engine, host, sandbox):
    data, control, url = sandbox
    control.limit, control.window, control.retry_after = 3, 3600, 5
    control.fail_next(503, times=1)
    waits = []

    def sleep(seconds):
        # Instead of really waiting, move the sandbox's window on: deterministic and fast.
        waits.append(seconds)
        control._times.clear()

    report = pull_connection(engine, host.hook, _connection(url), create_organisations=True,
                             sleep=sleep, page_attempts=6)
    assert report.kinds["assets"].created == len(data.devices)
    assert control.refusals >= 2, "the pull should have met the rate limit"
    assert waits.count(5) == control.refusals  # each 429's Retry-After was honoured
    assert len(waits) == control.refusals + 1  # ... and the 503 was retried too


def test_a_timeout_is_transient_and_a_refusal_is_permanent(engine, host, sandbox):
    _, control, url = sandbox
    control.stall_next(1.0, times=10)
    with pytest.raises(TransientError, match="timed out"):
        pull_connection(engine, host.hook, _connection(url, timeout_seconds=0.2),
                        kinds=["organisations"], sleep=lambda s: None)
    control._faults.clear()
    control.fail_next(400)
    with pytest.raises(PermanentError, match="400"):
        pull_connection(engine, host.hook, _connection(url), kinds=["organisations"],
                        sleep=lambda s: None)


def test_wrong_credentials_say_what_to_fix(engine, host, sandbox):
    _, _, url = sandbox
    with pytest.raises(PermanentError) as refused:
        pull_connection(engine, host.hook, _connection(url, client_secret="wrong"),
                        kinds=["organisations"])
    assert "credentials" in refused.value.hint


def test_the_live_counter_answers_only_with_count_live(engine, host, sandbox):
    data, _, url = sandbox
    query = CountQuery(kind="assets", organisation_id=7, organisation_external_ids={"ninja": "2"},
                       filters={"asset_type": ["workstation"], "status": "active"}, **PERIOD)
    assert ninjaone_plugin.hub_count_assets(connection=_connection(url), query=query) is None
    counted = ninjaone_plugin.hub_count_assets(connection=_connection(url, count_live=True),
                                               query=query)
    expected = [d for d in data.devices_of(2)
                if d["nodeClass"] in ("WINDOWS_WORKSTATION", "MAC") and not d["offline"]
                and d["approvalStatus"] == "APPROVED"]
    assert [i.ref for i in counted.items] == [f"ninja:device:{d['id']}" for d in expected]
    assert [i.label for i in counted.items] == [d["displayName"] for d in expected]

    by_os = ninjaone_plugin.hub_count_assets(
        connection=_connection(url, count_live=True),
        query=query.model_copy(update={"filters": {"attributes.os_name": "macOS 14.5"}}))
    assert [i.label for i in by_os.items] == [d["displayName"] for d in data.devices_of(2)
                                              if d["nodeClass"] == "MAC"]
