"""The billing run with the built-in stored counter (hub.sources.stored_counters): it reads the
database itself during the run, so the run must hold no transaction while counting (on SQLite
that would wait forever behind our own write lock)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlmodel import select

from hub.host.context import HubContext
from hub.billing import confirm, preview
from hub.billing.catalogue import add_asset, add_contact, create_organisation
from hub.billing.invoices import lines_of
from hub.billing.recurring import add_recurring_line, create_recurring
from hub.config import HubSettings
from hub.db.engine import make_engine, session_scope
from hub.db.models import Invoice, metadata
from hub.host.plugins import DEFAULT_PLUGINS, build_plugin_host
from hub.testing.clock import FrozenClock

D = dt.date


def test_billing_run_counts_stored_assets_and_contacts_with_the_builtin_counter(tmp_path):
    engine = make_engine("sqlite:///" + str(tmp_path / "t.sqlite"))
    metadata.create_all(engine)
    ctx = HubContext(settings=HubSettings(data_dir=tmp_path), engine=engine,
                     plugins=build_plugin_host(load_entry_points=False, defaults=DEFAULT_PLUGINS),
                     clock=FrozenClock("2026-03-01T06:00:00+00:00"))
    with session_scope(engine) as s:
        org = create_organisation(s, "Massive Dynamic")
        schedule = create_recurring(s, org.id, D(2026, 3, 1))
        add_recurring_line(s, recurring_id=schedule.id, line_type="asset_counter",
                           description="Managed server", unit_price="80.00",
                           filters={"asset_type": "server"})
        add_recurring_line(s, recurring_id=schedule.id, line_type="user_counter",
                           description="Remote access", unit_price="7.00",
                           filters={"attributes.remote_access": True})
        add_asset(s, org.id, "SRV-01", asset_type="server")
        add_asset(s, org.id, "PC-01", asset_type="workstation")
        add_contact(s, org.id, "Ann", attributes={"remote_access": True})
        add_contact(s, org.id, "Bob", attributes={"remote_access": False})
    batch = preview(ctx, D(2026, 3, 1))
    confirm(ctx, batch.batch_id)
    with session_scope(engine) as s:
        invoice = s.exec(select(Invoice)).one()
        lines = lines_of(s, invoice.id)
        assert [(l.quantity, l.amount, [p["label"] for p in l.provenance]) for l in lines] == [
            (Decimal(1), Decimal("80.00"), ["SRV-01"]), (Decimal(1), Decimal("7.00"), ["Ann"])]
        assert invoice.total == Decimal("87.00") and invoice.number == "202601000001"
    engine.dispose()
