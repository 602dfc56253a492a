"""The stored counter's per-chunk prefetch answers exactly what its per-line queries answer,
with one grouped query per table instead of one per counter line."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session

from hub.billing.counters import Counter
from hub.sources import stored_counters
from hub.sources.stored_counters import counting_from, hub_connection, prefetching
from hub.contract.connections import Connection
from hub.db.engine import make_engine
from hub.db.models import Asset, Contact, Organisation, UsageSnapshot, metadata
from hub.contract.records import CountQuery
from hub.errors import ValidationFailed
from hub.host.plugins import DEFAULT_PLUGINS, build_plugin_host

NOV = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
GONE = dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)


class _Settings(BaseModel):
    count_live: bool = False


@pytest.fixture
def engine(tmp_path):
    eng = make_engine("sqlite:///" + str(tmp_path / "bulk-counters.sqlite"))
    metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def orgs(engine):
    return _world(engine)


def _world(engine):
    """Acme (rows from several sources, by hand, deleted), Beta (only deleted rows of 'rmm'),
    Empty (nothing)."""
    with Session(engine, expire_on_commit=False) as s:
        acme, beta, empty = Organisation(name="Acme"), Organisation(name="Beta"), Organisation(
            name="Empty")
        s.add_all([acme, beta, empty])
        s.flush()
        s.add_all([
            Asset(organisation_id=acme.id, name="WS-1", asset_type="workstation",
                  policy="Standard", source="rmm", external_id="1"),
            Asset(organisation_id=acme.id, name="WS-2", asset_type="workstation", policy=None,
                  status="offline", source="rmm", external_id="2"),
            Asset(organisation_id=acme.id, name="SRV-1", asset_type="server", policy="Servers",
                  source="rmm", external_id="3", attributes={"os": "linux"}),
            Asset(organisation_id=acme.id, name="WS-gone", asset_type="workstation",
                  source="rmm", external_id="4", deleted_at_source=GONE),
            Asset(organisation_id=acme.id, name="Hand-made", asset_type="workstation"),
            Asset(organisation_id=acme.id, name="Live-1", asset_type="workstation",
                  source="live", external_id="9"),
            Asset(organisation_id=beta.id, name="WS-beta-gone", asset_type="workstation",
                  source="rmm", external_id="5", deleted_at_source=GONE),
            Contact(organisation_id=acme.id, name="Ann", attributes={"remote_access": True},
                    source="psa", external_id="c1", email="ann@acme.test"),
            Contact(organisation_id=acme.id, name="Bob", attributes={"remote_access": False},
                    source="psa", external_id="c2"),
            Contact(organisation_id=acme.id, name="Cid", attributes={"remote_access": True},
                    source="psa", external_id="c3", deleted_at_source=GONE),
            Contact(organisation_id=acme.id, name="Dee", attributes={"remote_access": True}),
            Contact(organisation_id=beta.id, name="Eve", attributes={}, source="psa",
                    external_id="c4"),
            UsageSnapshot(organisation_id=acme.id, source="pax8", external_id="sub:1",
                          tenant_external_id="t1", sku="M365-BP", description="M365 BP",
                          quantity=Decimal("12"), period_start=NOV[0], period_end=NOV[1]),
            UsageSnapshot(organisation_id=acme.id, source="pax8", external_id="sub:1",
                          tenant_external_id="t1", sku="M365-BP", quantity=Decimal("10"),
                          period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 10, 31)),
            UsageSnapshot(organisation_id=acme.id, source="pax8", external_id="line:1",
                          tenant_external_id="t2", sku="AZURE", quantity=Decimal("2.50"),
                          period_start=dt.date(2026, 11, 30), period_end=dt.date(2026, 12, 2)),
            UsageSnapshot(organisation_id=acme.id, source="pax8", external_id="sub:2",
                          tenant_external_id="t1", sku="M365-BS", quantity=Decimal("4"),
                          period_start=NOV[0], period_end=NOV[1], deleted_at_source=GONE),
        ])
        s.commit()
        return [acme.id, beta.id, empty.id]


CONNECTIONS = [hub_connection(), Connection(name="rmm", plugin="rmm", settings=_Settings()),
               Connection(name="psa", plugin="psa", settings=_Settings()),
               Connection(name="pax8", plugin="pax8", settings=_Settings()),
               Connection(name="live", plugin="rmm", settings=_Settings(count_live=True)),
               Connection(name="ghost", plugin="rmm", settings=_Settings())]

FILTERS = {
    "assets": [{}, {"asset_type": "workstation"}, {"asset_type": ["workstation", "server"]},
               {"policy": None}, {"policy": ["Standard", None]}, {"status": "offline"},
               {"attributes.os": "linux"}, {"asset_type": "workstation", "policy": "Standard"},
               {"name": "WS-1"}],
    "users": [{}, {"attributes.remote_access": True}, {"attributes.remote_access": [False]},
              {"email": "ann@acme.test"}, {"email": None}, {"name": ["Bob", "Eve"]}],
    "usage": [{}, {"sku": "M365-BP"}, {"sku": ["AZURE", "M365-BS"]},
              {"tenant_external_id": "t2"}],
}
PERIODS = [NOV, (dt.date(2026, 10, 15), dt.date(2026, 11, 14)), (dt.date(2026, 12, 3),
                                                                   dt.date(2026, 12, 31))]
HOOKS = {"assets": stored_counters.hub_count_assets,
         "users": stored_counters.hub_count_licensed_users,
         "usage": stored_counters.hub_fetch_vendor_usage}


def _all_answers(orgs, filters_by_kind=FILTERS):
    answers = []
    for kind, filters in filters_by_kind.items():
        for f, org, (start, end), connection in itertools.product(
                filters, [*orgs, 999], PERIODS, CONNECTIONS):
            query = CountQuery(kind=kind, organisation_id=org, filters=f, period_start=start,
                               period_end=end)
            answers.append(((kind, tuple(f.items()), org, start, connection.name),
                            HOOKS[kind](connection=connection, query=query)))
    return answers


def _statements(engine):
    seen = []
    def note(conn, cursor, statement, parameters, *args):
        if statement.startswith("SELECT"):  # not the transaction's BEGIN
            values = parameters.values() if isinstance(parameters, dict) else parameters or ()
            seen.append((statement, tuple(values)))

    sa.event.listen(engine, "before_cursor_execute", note)
    return seen


def test_prefetched_answers_equal_the_per_line_answers(engine, orgs):
    _check_prefetched_answers(engine, orgs)


@pytest.mark.postgres
def test_prefetched_answers_equal_the_per_line_answers_on_postgres(hub_postgres_url):
    engine = make_engine(hub_postgres_url)  # the grouped query is written differently there
    try:
        metadata.create_all(engine)
        _check_prefetched_answers(engine, _world(engine))
    finally:
        engine.dispose()


def _check_prefetched_answers(engine, orgs):
    with counting_from(engine):
        per_line = _all_answers(orgs)
        with prefetching(engine, orgs):
            seen = _statements(engine)
            prefetched = _all_answers(orgs)
    assert prefetched == per_line
    answered = [a for _key, a in per_line if a is not None]
    assert any(a.items for a in answered) and any(not a.items for a in answered)
    assert any(a is None for _key, a in per_line)
    # One grouped query per table; only organisation 999 (not in the block) queries per line.
    grouped = [s for s, _p in seen if "organisation_id IN (" in s
               or "organisation_id = ANY" in s]  # PostgreSQL: one array parameter
    assert len(grouped) == 3
    assert [(s, p) for s, p in seen if s not in grouped and 999 not in p] == []


def test_a_filter_value_sql_compares_differently_is_left_to_sql(engine, orgs):
    numeric = {"assets": [{"asset_type": 7}, {"policy": [1, "Standard"]}]}
    with counting_from(engine):
        per_line = _all_answers(orgs, numeric)
        with prefetching(engine, orgs):
            assert _all_answers(orgs, numeric) == per_line


def test_prefetch_reads_nothing_for_another_database(engine, orgs, tmp_path):
    other = make_engine("sqlite:///" + str(tmp_path / "other.sqlite"))
    metadata.create_all(other)
    query = CountQuery(kind="assets", organisation_id=orgs[0], filters={},
                       period_start=NOV[0], period_end=NOV[1])
    with prefetching(engine, orgs), counting_from(other):
        # The block names `engine`; counting from another database must not use its rows.
        assert stored_counters.hub_count_assets(connection=CONNECTIONS[1], query=query) is None
    other.dispose()


def test_unknown_filters_are_still_refused_inside_the_block(engine, orgs):
    query = CountQuery(kind="assets", organisation_id=orgs[0], filters={"colour": "red"},
                       period_start=NOV[0], period_end=NOV[1])
    with counting_from(engine), prefetching(engine, orgs):
        with pytest.raises(ValidationFailed, match="colour"):
            stored_counters.hub_count_assets(connection=CONNECTIONS[1], query=query)


def test_the_billing_counter_prefetches_a_chunk_through_the_hooks(engine, orgs):
    host = build_plugin_host(load_entry_points=False, defaults=DEFAULT_PLUGINS)
    counter = Counter(host.pm, CONNECTIONS[1:4], engine)
    args = dict(external_ids={}, period_start=NOV[0], period_end=NOV[1])
    plain = [counter.count("assets", organisation_id=o, filters={"asset_type": "workstation"},
                           **args) for o in orgs]
    with counter.prefetch(orgs):
        seen = _statements(engine)
        chunked = [counter.count("assets", organisation_id=o,
                                 filters={"asset_type": "workstation"}, **args) for o in orgs]
    assert chunked == plain
    assert plain[0].quantity == 3  # WS-1, WS-2 from rmm; "Hand-made" by the hub connection
    assert len(seen) == 1
