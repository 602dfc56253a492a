"""Benchmark: pull 500 organisations, 20,000 devices and 3,000 time entries from the sandboxes.

Runs the NinjaOne, Autotask and Pax8 sandboxes on local ports, pulls each into a fresh database,
pulls again with full listings (which must change nothing), bills one organisation's recurring
invoice with an asset counter for November, removes one of its devices at NinjaOne, pulls, and
previews December: the device is marked deleted at the source, no longer counted, and the
preview's line says ``-1 device: NAME``. Prints the figures::

    .venv/bin/python bench/pull_sources.py [--organisations 500] [--devices 20000]
                                                [--time-entries 3000] [--database URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from sqlmodel import Session, func, select

import hub_autotask.plugin as autotask_plugin
import hub_ninjaone.plugin as ninjaone_plugin
import hub_vendor_usage.plugin as vendor_plugin
from hub.host.context import HubContext
from hub.billing import confirm, preview
from hub.billing.invoices import lines_of
from hub.billing.recurring import add_recurring_line, create_recurring
from hub.config import ConnectionConfig, HubSettings
from hub.db.engine import make_engine, session_scope
from hub.db.models import (
    Asset, Contact, Invoice, OrganisationMapping, TicketCharge, UsageSnapshot, metadata,
)
from hub.host.plugins import build_plugin_host
from hub.sources.pulling import month_of, pull_by_name
from hub.testing.vendor_sandbox import serve
from hub.testing.clock import FrozenClock
from hub_autotask import sandbox as autotask_sandbox
from hub_ninjaone import sandbox as ninjaone_sandbox
from hub_vendor_usage import sandbox as pax8_sandbox

NOV, DEC = dt.date(2026, 11, 1), dt.date(2026, 12, 1)


def _timed(label, action):
    started = time.perf_counter()
    report = action()
    seconds = time.perf_counter() - started
    print(f"  {label:<34} {seconds:7.2f} s   {report.summary()}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organisations", type=int, default=500)
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--time-entries", type=int, default=3_000)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    url = args.database or "sqlite:///" + str(Path(tempfile.mkdtemp()) / "bench.sqlite")
    engine = make_engine(url)
    metadata.create_all(engine)
    host = build_plugin_host([("ninjaone", ninjaone_plugin), ("autotask", autotask_plugin),
                              ("vendor_usage", vendor_plugin)], load_entry_points=False)

    orgs = args.organisations
    ninja_data = ninjaone_sandbox.generate(orgs, args.devices // orgs)
    entries_per_ticket = 3
    tickets_per_company = max(1, args.time_entries // (orgs * entries_per_ticket))
    at_data = autotask_sandbox.generate(orgs, 4, tickets_per_company, entries_per_ticket)
    pax8_data = pax8_sandbox.generate(orgs)
    print(f"sandboxes: {len(ninja_data.organizations)} NinjaOne organisations with "
          f"{len(ninja_data.devices)} devices; {len(at_data.companies)} Autotask companies, "
          f"{len(at_data.contacts)} contacts, {len(at_data.tickets)} tickets, "
          f"{len(at_data.time_entries)} time entries; {len(pax8_data.companies)} Pax8 companies, "
          f"{len(pax8_data.subscriptions)} subscriptions")
    print(f"database: {url}")

    clock = FrozenClock("2026-11-01T05:00:00+00:00")
    with serve(ninjaone_sandbox.create_app(ninja_data)) as ninja_url, \
            serve(autotask_sandbox.create_app(at_data)) as at_url, \
            serve(pax8_sandbox.create_app(pax8_data)) as pax8_url:
        settings = HubSettings(data_dir=Path(tempfile.mkdtemp()), connections=[
            ConnectionConfig(name="ninja", plugin="ninjaone", settings={
                "base_url": ninja_url, "client_id": ninja_data.client_id,
                "client_secret": ninja_data.client_secret, "requests_per_minute": 100_000}),
            ConnectionConfig(name="autotask", plugin="autotask", settings={
                "base_url": at_url, "username": at_data.username, "secret": at_data.secret,
                "integration_code": at_data.integration_code, "hourly_rate": "95.00",
                "requests_per_minute": 100_000,
                "contact_udf_attributes": {"remote_access": "Remote Access"}}),
            ConnectionConfig(name="pax8", plugin="pax8", settings={
                "base_url": pax8_url, "client_id": pax8_data.client_id,
                "client_secret": pax8_data.client_secret, "requests_per_minute": 100_000,
                "sku_map": {v: k for k, v in pax8_data.product_ids().items()}}),
        ])
        ctx = HubContext(settings=settings, engine=engine, plugins=host, clock=clock)
        names = ("ninja", "autotask", "pax8")

        print("first pull (stores everything; companies imported as organisations):")
        firsts = [_timed(n, lambda n=n: pull_by_name(ctx, n, create_organisations=True,
                                                     period=month_of(NOV))) for n in names]
        with Session(engine) as session:
            stored = {name: session.exec(select(func.count()).select_from(model)).one()
                      for name, model in (("devices", Asset), ("contacts", Contact),
                                          ("ticket charges", TicketCharge),
                                          ("usage snapshots", UsageSnapshot))}
        print("  stored:", ", ".join(f"{v} {k}" for k, v in stored.items()))
        assert stored["devices"] == len(ninja_data.devices)
        billable = sum(1 for e in at_data.time_entries.values() if not e["isNonBillable"])
        assert stored["ticket charges"] == billable
        print(f"  first-pull rows created: {sum(r.created for r in firsts)}")

        print("second pull, full listing (must change nothing):")
        seconds = [_timed(n, lambda n=n: pull_by_name(ctx, n, full=True, period=month_of(NOV)))
                   for n in names]
        changed = sum(r.created + r.updated + r.deleted for r in seconds)
        print(f"  rows written by the second pull: {changed}")
        assert changed == 0

        # One organisation's recurring invoice with an asset counter, billed for November.
        victim_id = sorted(ninja_data.devices)[len(ninja_data.devices) // 2]
        org_external = str(ninja_data.devices[victim_id]["organizationId"])
        with session_scope(engine) as session:
            organisation_id = session.exec(select(OrganisationMapping.organisation_id).where(
                OrganisationMapping.connection == "ninja",
                OrganisationMapping.external_id == org_external)).one()
            schedule = create_recurring(session, organisation_id, NOV, first_run="start")
            add_recurring_line(session, recurring_id=schedule.id, line_type="asset_counter",
                               description="Managed device", unit_price="45.00", filters={})
        started = time.perf_counter()
        confirm(ctx, preview(ctx, NOV).batch_id)
        print(f"November billed for organisation {organisation_id} "
              f"({time.perf_counter() - started:.2f} s): {_asset_line(engine, organisation_id)}")

        victim = ninja_data.devices.pop(victim_id)
        clock.set("2026-12-01T05:00:00+00:00")
        print(f"device {victim['displayName']} removed at NinjaOne; December pull:")
        third = _timed("ninja", lambda: pull_by_name(ctx, "ninja", period=month_of(DEC)))
        assert third.deleted == 1
        preview(ctx, DEC)
        line = _asset_line(engine, organisation_id, status="draft")
        print(f"December preview: {line}")
        assert line.endswith(f"change: -1 device: {victim['displayName']}")


def _asset_line(engine, organisation_id, status=None) -> str:
    with Session(engine) as session:
        query = select(Invoice).where(Invoice.organisation_id == organisation_id)
        if status:
            query = query.where(Invoice.status == status)
        invoice = session.exec(query.order_by(Invoice.id.desc())).first()
        line = next(l for l in lines_of(session, invoice.id) if l.line_type == "asset_counter")
        return (f"{line.quantity.normalize():f} devices x {line.unit_price:.2f} = "
                f"{line.amount:.2f}; provenance {len(line.provenance)} items; "
                f"change: {line.change}")

if __name__ == "__main__":
    main()
