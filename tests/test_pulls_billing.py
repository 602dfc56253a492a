"""From the vendor sandboxes to an invoice: a recurring invoice with an asset counter, a user
counter and a Pax8 vendor-usage counter bills exactly what the sandboxes hold, with the devices,
users and subscriptions as line provenance; Autotask's billable time arrives as ticket charges;
a device removed at NinjaOne drops off the next preview, which says so."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlmodel import select

import hub_autotask.plugin as autotask_plugin
import hub_ninjaone.plugin as ninjaone_plugin
import hub_vendor_usage.plugin as vendor_plugin
from hub.host.context import HubContext
from hub.billing import confirm, preview
from hub.billing.catalogue import charge_labor
from hub.billing.invoices import lines_of
from hub.billing.recurring import add_recurring_line, create_recurring
from hub.config import ConnectionConfig, HubSettings
from hub.db.engine import make_engine, session_scope
from hub.db.models import (
    Invoice, LaborStatus, Organisation, OrganisationMapping, TicketCharge, metadata,
)
from hub.host.plugins import build_plugin_host
from hub.sources.pulling import month_of, pull_by_name
from hub.testing.vendor_sandbox import serve
from hub.testing.clock import FrozenClock
from hub_autotask import sandbox as autotask_sandbox
from hub_ninjaone import sandbox as ninjaone_sandbox
from hub_vendor_usage import sandbox as pax8_sandbox

NOV, DEC = dt.date(2026, 11, 1), dt.date(2026, 12, 1)


def test_a_recurring_invoice_bills_what_the_sandboxes_hold(tmp_path):
    ninja_data = ninjaone_sandbox.generate(organisations=4, devices_per_organisation=12)
    at_data = autotask_sandbox.generate(companies=4, contacts_per_company=6,
                                        tickets_per_company=2, entries_per_ticket=4)
    pax8_data = pax8_sandbox.generate(companies=4)
    engine = make_engine("sqlite:///" + str(tmp_path / "bill.sqlite"))
    metadata.create_all(engine)
    clock = FrozenClock("2026-11-01T05:00:00+00:00")
    acme_pax8 = pax8_sandbox.uuid_for(1, 2)

    with serve(ninjaone_sandbox.create_app(ninja_data)) as ninja_url, \
            serve(autotask_sandbox.create_app(at_data)) as at_url, \
            serve(pax8_sandbox.create_app(pax8_data)) as pax8_url:
        settings = HubSettings(data_dir=tmp_path, connections=[
            ConnectionConfig(name="ninja", plugin="ninjaone", settings={
                "base_url": ninja_url, "client_id": ninja_data.client_id,
                "client_secret": ninja_data.client_secret, "requests_per_minute": 100_000}),
            ConnectionConfig(name="psa", plugin="autotask", settings={
                "base_url": at_url, "username": at_data.username, "secret": at_data.secret,
                "integration_code": at_data.integration_code, "hourly_rate": "95.00",
                "requests_per_minute": 100_000,
                "contact_udf_attributes": {"remote_access": "Remote Access"}}),
            ConnectionConfig(name="pax8", plugin="pax8", settings={
                "base_url": pax8_url, "client_id": pax8_data.client_id,
                "client_secret": pax8_data.client_secret, "requests_per_minute": 100_000,
                "sku_map": {v: k for k, v in pax8_data.product_ids().items()}}),
        ])
        host = build_plugin_host([("ninjaone", ninjaone_plugin), ("autotask", autotask_plugin),
                                  ("vendor_usage", vendor_plugin)], load_entry_points=False)
        ctx = HubContext(settings=settings, engine=engine, plugins=host, clock=clock)

        with session_scope(engine) as s:
            acme = Organisation(name="Acme Dental")
            s.add(acme)
            s.flush()
            s.add_all([OrganisationMapping(connection="ninja", external_id="2",
                                           organisation_id=acme.id),
                       OrganisationMapping(connection="psa", external_id="102",
                                           organisation_id=acme.id),
                       OrganisationMapping(connection="pax8", external_id=acme_pax8,
                                           organisation_id=acme.id)])
            schedule = create_recurring(s, acme.id, NOV, first_run="start",
                                        add_pending_ticket_charges=True)
            for line_type, description, price, filters in (
                    ("asset_counter", "Managed workstation", "45.00",
                     {"asset_type": ["workstation"]}),
                    ("user_counter", "Remote access user", "7.00",
                     {"attributes.remote_access": True}),
                    ("vendor_usage", "Microsoft 365 Business Standard", "15.00",
                     {"sku": "M365-BS"})):
                add_recurring_line(s, recurring_id=schedule.id, line_type=line_type,
                                   description=description, unit_price=price, filters=filters)
            acme_id = acme.id

        for name in ("ninja", "psa", "pax8"):
            pull_by_name(ctx, name, period=month_of(NOV))
        with session_scope(engine) as s:  # pulled time waits as Not Charged until a tech charges it
            pending = s.exec(select(TicketCharge).where(TicketCharge.organisation_id == acme_id)
                             ).all()
            assert {c.labor_status for c in pending} == {LaborStatus.not_charged}
            for charge in pending:
                charge_labor(s, charge.id)
        confirm(ctx, preview(ctx, NOV).batch_id)

        workstations = sorted(d["displayName"] for d in ninja_data.devices_of(2)
                              if ninjaone_plugin.asset_record(d).asset_type == "workstation")
        remote_users = sorted(f"{c['firstName']} {c['lastName']}" for c in at_data.contacts.values()
                              if c["companyID"] == 102
                              and c["userDefinedFields"][0]["value"] == "Yes")
        licences = [s for s in pax8_data.subscriptions.values()
                    if s["companyId"] == acme_pax8 and s["productName"].endswith("Standard")]
        billable = [e for e in at_data.time_entries.values() if not e["isNonBillable"]
                    and at_data.tickets[e["ticketID"]]["companyID"] == 102]
        with session_scope(engine) as s:
            invoice = s.exec(select(Invoice).where(Invoice.organisation_id == acme_id)).one()
            lines = lines_of(s, invoice.id)
            by_type = {}
            for line in lines:
                by_type.setdefault(line.line_type, []).append(line)
            devices, users, usage = (by_type["asset_counter"][0], by_type["user_counter"][0],
                                     by_type["vendor_usage"][0])
            assert sorted(p["label"] for p in devices.provenance) == workstations
            assert devices.quantity == len(workstations)
            assert sorted(p["label"] for p in users.provenance) == remote_users
            assert users.amount == Decimal("7.00") * len(remote_users)
            assert [p["label"] for p in usage.provenance] == [s["productName"] for s in licences]
            assert usage.quantity == sum(Decimal(s["quantity"]) for s in licences)
            assert len(by_type["ticket_charge"]) == len(billable)
            assert sum(l.quantity for l in by_type["ticket_charge"]) == \
                sum(Decimal(str(e["hoursToBill"])) for e in billable)
            gone = devices.provenance[0]

        # a workstation is removed at NinjaOne; December's pull and preview notice
        victim = next(d for d in ninja_data.devices_of(2) if d["displayName"] == gone["label"])
        del ninja_data.devices[victim["id"]]
        clock.set("2026-12-01T05:00:00+00:00")
        reports = {name: pull_by_name(ctx, name, period=month_of(DEC))
                   for name in ("ninja", "psa", "pax8")}
        assert reports["ninja"].kinds["assets"].deleted == 1
        preview(ctx, DEC)
        with session_scope(engine) as s:
            december = s.exec(select(Invoice).where(Invoice.organisation_id == acme_id,
                                                    Invoice.status == "draft")).one()
            line = next(l for l in lines_of(s, december.id) if l.line_type == "asset_counter")
            assert line.quantity == len(workstations) - 1
            assert gone["ref"] not in {p["ref"] for p in line.provenance}
            assert line.change == f"-1 device: {gone['label']}"
