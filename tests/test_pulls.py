"""hub.sources.pulling: paging, mapping only through OrganisationMapping, idempotency, deletions, holds,
incremental ``since``, retries and resume — against a throwaway in-memory source plugin."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from hub import (
    AssetRecord, ContactRecord, Money, OrganisationRecord, PullPage, TicketRecord,
    TimeEntryRecord, TransientError, UsageRecord, hookimpl,
)
from hub.contract.connections import Connection
from hub.db.engine import make_engine
from hub.db.models import (
    Asset, Contact, HeldRecord, LaborStatus, Organisation, OrganisationMapping, Ticket,
    TicketCharge, UsageSnapshot, metadata,
)
from hub.errors import PluginError
from hub.host.plugins import build_plugin_host
from hub.sources.pulling import SINCE_OVERLAP, pull_connection
from pydantic import BaseModel

NOW = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.timezone.utc)


class _Settings(BaseModel):
    pass


class FakeSource:
    """A source plugin answering from lists, ``page_size`` records a page."""

    def __init__(self) -> None:
        self.data: dict[str, list] = {k: [] for k in
                                      ("organisations", "contacts", "assets", "tickets", "usage")}
        self.page_size = 2
        self.full = True
        self.calls: list[tuple[str, object, object]] = []
        self.failures: list[Exception] = []

    def _page(self, kind: str, connection: Connection, since, cursor):
        if connection.plugin != "fake":
            return None
        self.calls.append((kind, since, cursor))
        if self.failures:
            raise self.failures.pop(0)
        start = int(cursor or 0)
        items = self.data[kind][start:start + self.page_size]
        more = start + self.page_size < len(self.data[kind])
        return PullPage(records=tuple(items), cursor=str(start + self.page_size) if more else None,
                        complete=not more, full=self.full)

    @hookimpl
    def hub_pull_organisations(self, connection, since, cursor):
        return self._page("organisations", connection, since, cursor)

    @hookimpl
    def hub_pull_contacts(self, connection, since, cursor):
        return self._page("contacts", connection, since, cursor)

    @hookimpl
    def hub_pull_assets(self, connection, since, cursor):
        return self._page("assets", connection, since, cursor)

    @hookimpl
    def hub_pull_tickets(self, connection, since, cursor):
        return self._page("tickets", connection, since, cursor)

    @hookimpl
    def hub_pull_usage(self, connection, period_start, period_end, cursor):
        return self._page("usage", connection, (period_start, period_end), cursor)


@pytest.fixture
def engine(hub_engine):
    """The hub test kit's temporary SQLite database with every table."""
    return hub_engine


@pytest.fixture
def source():
    src = FakeSource()
    src.data["organisations"] = [OrganisationRecord(external_id="c1", name="Alpha"),
                                 OrganisationRecord(external_id="c2", name="Beta"),
                                 OrganisationRecord(external_id="c3", name="Gamma")]
    src.data["contacts"] = [ContactRecord(external_id=f"p{i}", organisation_external_id="c1",
                                          name=f"Person {i}",
                                          attributes={"remote_access": i % 2 == 0})
                            for i in range(3)]
    src.data["assets"] = [AssetRecord(external_id=f"d{i}", organisation_external_id=f"c{1 + i % 3}",
                                      name=f"PC-{i}", asset_type="workstation",
                                      last_seen=NOW - dt.timedelta(hours=i))
                          for i in range(7)]
    return src


@pytest.fixture
def host(source):
    return build_plugin_host([("fake", source)], load_entry_points=False)


@pytest.fixture
def connection():
    return Connection(name="src", plugin="fake", settings=_Settings(), clock=lambda: NOW)


def _rows(engine, model):
    with Session(engine) as session:
        return session.exec(select(model)).all()


def test_a_pull_stores_everything_and_a_second_pull_changes_nothing(engine, host, source,
                                                                      connection):
    first = pull_connection(engine, host.hook, connection, create_organisations=True)
    assert (first.kinds["organisations"].created, first.kinds["contacts"].created,
            first.kinds["assets"].created) == (3, 3, 7)
    assert first.kinds["assets"].pages == 4 and first.unmapped == 0
    assert len(_rows(engine, Organisation)) == 3
    assert {a.external_id for a in _rows(engine, Asset)} == {f"d{i}" for i in range(7)}
    assert all(a.source == "src" for a in _rows(engine, Asset))

    second = pull_connection(engine, host.hook, connection)
    assert (second.created, second.updated, second.deleted) == (0, 0, 0)
    assert second.unchanged == 13 and not second.changed


def test_unmapped_companies_are_recorded_and_their_facts_held_never_guessed(engine, host,
                                                                           connection):
    with Session(engine) as session:  # same name as a source company: still no guess
        session.add(Organisation(name="Alpha"))
        session.commit()
    report = pull_connection(engine, host.hook, connection)
    assert sorted(report.unmapped_organisations) == [("c1", "Alpha"), ("c2", "Beta"),
                                                     ("c3", "Gamma")]
    mappings = _rows(engine, OrganisationMapping)
    assert {(m.external_id, m.organisation_id) for m in mappings} == \
        {("c1", None), ("c2", None), ("c3", None)}
    assert _rows(engine, Asset) == [] and _rows(engine, Contact) == []
    assert report.kinds["assets"].unmapped == 7 and report.kinds["contacts"].unmapped == 3
    assert len(_rows(engine, HeldRecord)) == 10

    with Session(engine) as session:  # someone maps c1 to the existing organisation
        alpha = session.exec(select(Organisation)).one()
        mapping = session.exec(select(OrganisationMapping).where(
            OrganisationMapping.external_id == "c1")).one()
        mapping.organisation_id = alpha_id = alpha.id
        session.add(mapping)
        session.commit()
    report = pull_connection(engine, host.hook, connection, kinds=["assets"])
    stored = _rows(engine, Asset)
    assert sorted(a.external_id for a in stored) == ["d0", "d3", "d6"]
    assert {a.organisation_id for a in stored} == {alpha_id}
    assert report.kinds["assets"].unmapped == 4
    held = _rows(engine, HeldRecord)
    assert {h.external_id for h in held if h.kind == "assets"} == {"d1", "d2", "d4", "d5"}


def test_held_records_are_released_by_the_next_pull_even_when_it_brings_nothing(
        engine, host, source, connection):
    pull_connection(engine, host.hook, connection)
    with Session(engine) as session:
        org = Organisation(name="Mapped later")
        session.add(org)
        session.flush()
        for mapping in session.exec(select(OrganisationMapping)).all():
            mapping.organisation_id = org.id
            session.add(mapping)
        session.commit()
    source.data["assets"] = []  # an incremental pull that finds no changes
    source.full = False
    report = pull_connection(engine, host.hook, connection)
    assert len(_rows(engine, Asset)) == 7 and len(_rows(engine, Contact)) == 3
    assert report.kinds["assets"].created == 7
    assert _rows(engine, HeldRecord) == []


def test_missing_from_a_full_pull_or_flagged_deleted_is_marked_and_can_come_back(
        engine, host, source, connection):
    pull_connection(engine, host.hook, connection, create_organisations=True)
    gone = source.data["assets"].pop(2)
    source.data["assets"][0] = source.data["assets"][0].model_copy(update={"deleted": True})
    report = pull_connection(engine, host.hook, connection)
    assert report.kinds["assets"].deleted == 2
    marked = {a.external_id: a.deleted_at_source for a in _rows(engine, Asset)}
    assert marked[gone.external_id] is not None and marked["d0"] is not None
    assert sum(1 for v in marked.values() if v is None) == 5

    again = pull_connection(engine, host.hook, connection)
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)

    source.data["assets"].append(gone)  # it is back at the source
    back = pull_connection(engine, host.hook, connection)
    assert back.kinds["assets"].updated == 1
    assert {a.external_id: a.deleted_at_source for a in _rows(engine, Asset)}[gone.external_id] \
        is None


def test_an_incremental_pull_never_marks_missing_rows(engine, host, source, connection):
    pull_connection(engine, host.hook, connection, create_organisations=True)
    source.full = False
    source.data["assets"] = source.data["assets"][:1]
    report = pull_connection(engine, host.hook, connection)
    assert report.kinds["assets"].deleted == 0
    assert all(a.deleted_at_source is None for a in _rows(engine, Asset))


def test_since_is_the_start_of_the_last_completed_pull(engine, host, source, connection):
    pull_connection(engine, host.hook, connection, create_organisations=True)
    assert all(since is None for kind, since, _ in source.calls if kind != "usage")
    source.calls.clear()
    pull_connection(engine, host.hook, connection)
    assert {since for kind, since, _ in source.calls if kind != "usage"} == {NOW - SINCE_OVERLAP}
    source.calls.clear()
    pull_connection(engine, host.hook, connection, full=True)
    assert {since for kind, since, _ in source.calls if kind != "usage"} == {None}


def test_time_entries_become_ticket_charges_and_removed_ones_stop_billing(engine, host, source,
                                                                          connection):
    def entry(i, billable=True, hours="1.5"):
        return TimeEntryRecord(external_id=f"t{i}", ticket_external_id="k1", started=NOW,
                               hours=hours, billable=billable, description=f"work {i}",
                               rate=Money("95.00", "USD"))

    source.data["tickets"] = [TicketRecord(external_id="k1", organisation_external_id="c1",
                                           number="T1", subject="Printer", status="In Progress",
                                           time_entries=(entry(1), entry(2), entry(3, False)))]
    report = pull_connection(engine, host.hook, connection, create_organisations=True)
    charges = {c.external_id: c for c in _rows(engine, TicketCharge)}
    assert set(charges) == {"t1", "t2"}  # the non-billable entry is no charge
    assert charges["t1"].quantity == Decimal("1.5") and charges["t1"].unit_price == Decimal("95")
    assert charges["t1"].labor_status == LaborStatus.not_charged
    assert report.kinds["time_entries"].created == 2

    with Session(engine) as session:  # t1 gets invoiced in the hub
        invoiced = session.exec(select(TicketCharge).where(TicketCharge.external_id == "t1")).one()
        invoiced.labor_status = LaborStatus.invoiced
        session.add(invoiced)
        session.commit()
    source.data["tickets"] = [source.data["tickets"][0].model_copy(
        update={"time_entries": (entry(1, hours="9"),), "status": "Complete"})]
    report = pull_connection(engine, host.hook, connection)
    charges = {c.external_id: c for c in _rows(engine, TicketCharge)}
    assert set(charges) == {"t1"}  # t2 vanished at the source: its pending charge is gone
    assert charges["t1"].quantity == Decimal("1.5")  # invoiced: never rewritten
    assert report.kinds["time_entries"].deleted == 1
    assert _rows(engine, Ticket)[0].status == "Complete"


def test_usage_of_an_unmapped_tenant_is_stored_reported_and_assigned_once_mapped(
        engine, host, source, connection):
    period = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    source.data["organisations"] = []
    source.data["usage"] = [UsageRecord(external_id="s1", organisation_external_id="tenant-9",
                                        sku="M365-BP", quantity="12", description="M365 BP")]
    report = pull_connection(engine, host.hook, connection, kinds=["usage"], period=period)
    snapshot = _rows(engine, UsageSnapshot)[0]
    assert snapshot.organisation_id is None and snapshot.quantity == Decimal("12")
    assert (snapshot.period_start, snapshot.period_end) == period
    assert report.kinds["usage"].unmapped == 1
    with Session(engine) as session:
        org = Organisation(name="Tenant nine")
        session.add(org)
        session.flush()
        mapping = session.exec(select(OrganisationMapping)).one()
        mapping.organisation_id = org.id
        session.add(mapping)
        session.commit()
        org_id = org.id
    pull_connection(engine, host.hook, connection, kinds=["usage"], period=period)
    assert _rows(engine, UsageSnapshot)[0].organisation_id == org_id


def test_a_transient_failure_is_retried_after_retry_after(engine, host, source, connection):
    waits: list[float] = []
    source.failures = [TransientError("429", retry_after=3), TransientError("503")]
    report = pull_connection(engine, host.hook, connection, kinds=["organisations"],
                             sleep=waits.append, create_organisations=True)
    assert report.kinds["organisations"].created == 3
    assert waits[0] == 3 and len(waits) == 2


def test_a_long_retry_after_goes_back_to_the_job_and_the_pull_resumes(engine, host, source,
                                                                      connection):
    pull_connection(engine, host.hook, connection, kinds=["organisations"],
                    create_organisations=True)
    source.page_size = 3
    source.data["assets"] = source.data["assets"][:6]  # d6 is gone: a full pull would mark it

    calls = 0
    original = source._page

    def fail_on_second_page(kind, conn, since, cursor):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise TransientError("rate limited", retry_after=600)
        return original(kind, conn, since, cursor)

    source._page = fail_on_second_page  # type: ignore[method-assign]
    with pytest.raises(TransientError):
        pull_connection(engine, host.hook, connection, kinds=["assets"], sleep=lambda s: None)
    assert len(_rows(engine, Asset)) == 3  # the first page is stored
    assert connection.state.get("hub.pull.assets.resume")["cursor"] == "3"

    report = pull_connection(engine, host.hook, connection, kinds=["assets"])
    assert source.calls[-1][2] == "3"  # resumed at the saved cursor
    assert len(_rows(engine, Asset)) == 6
    assert report.kinds["assets"].deleted == 0 and not report.kinds["assets"].full
    assert connection.state.get("hub.pull.assets.resume") is None


def test_a_plugin_returning_the_wrong_thing_is_named(engine, connection):
    class Broken:
        @hookimpl
        def hub_pull_assets(self, connection, since, cursor):
            return [AssetRecord(external_id="x", organisation_external_id="c", name="x")]

    host = build_plugin_host([("broken", Broken())], load_entry_points=False)
    with pytest.raises(PluginError, match="not a PullPage"):
        pull_connection(engine, host.hook, connection, kinds=["assets"])


def test_kinds_the_plugin_does_not_offer_are_skipped(engine, connection):
    host = build_plugin_host([], load_entry_points=False)
    report = pull_connection(engine, host.hook, connection)
    assert report.kinds == {} and not report.changed


@pytest.mark.postgres
def test_pulls_are_idempotent_on_postgresql(hub_postgres_url, source, host, connection):
    engine = make_engine(hub_postgres_url)
    metadata.create_all(engine)
    try:
        source.data["tickets"] = [TicketRecord(
            external_id="k1", organisation_external_id="c2", number="T1", subject="VPN",
            status="New", time_entries=(TimeEntryRecord(
                external_id="t1", ticket_external_id="k1", started=NOW, hours="0.75",
                rate=Money("120.00", "USD")),))]
        first = pull_connection(engine, host.hook, connection, create_organisations=True)
        assert first.created == 3 + 3 + 7 + 1 + 1  # ... tickets and their one charge
        second = pull_connection(engine, host.hook, connection)
        assert (second.created, second.updated, second.deleted) == (0, 0, 0)
        source.data["assets"].pop()
        third = pull_connection(engine, host.hook, connection)
        assert third.kinds["assets"].deleted == 1
        charge = _rows(engine, TicketCharge)[0]
        assert charge.quantity == Decimal("0.75") and charge.unit_price == Decimal("120")
    finally:
        engine.dispose()


def test_one_pull_per_connection_at_a_time(engine, host, source, connection):
    inside = {}

    original = source._page

    def nested(kind, conn, since, cursor):
        if kind == "organisations" and "error" not in inside:
            with pytest.raises(TransientError, match="already running") as busy:
                pull_connection(engine, host.hook, connection)
            inside["error"] = busy.value
        return original(kind, conn, since, cursor)

    source._page = nested  # type: ignore[method-assign]
    pull_connection(engine, host.hook, connection, create_organisations=True)
    assert inside["error"].retry_after == 60
    assert connection.state.get("hub.pull.lease") is None  # released for the next pull
    source._page = original  # type: ignore[method-assign]
    assert not pull_connection(engine, host.hook, connection).changed


def test_a_dead_pulls_lease_expires(engine, host, connection):
    connection.state.set("hub.pull.lease", {"taken": "2026-11-20T07:00:00+00:00",
                                            "expires": "2026-11-20T07:30:00+00:00",
                                            "token": "dead-worker"})
    report = pull_connection(engine, host.hook, connection, kinds=["organisations"])
    assert report.kinds["organisations"].created == 3


def test_organisations_created_by_a_pull_bill_in_the_company_currency(engine, host,
                                                                      connection):
    from types import SimpleNamespace

    from hub.sources.pulling import pull_by_name

    context = SimpleNamespace(engine=engine, plugins=SimpleNamespace(hook=host.hook),
                              connection=lambda name: connection,
                              settings=SimpleNamespace(company=SimpleNamespace(currency="EUR"),
                                                       connections=[]))
    pull_by_name(context, "src", create_organisations=True)
    assert {o.currency for o in _rows(engine, Organisation)} == {"EUR"}
