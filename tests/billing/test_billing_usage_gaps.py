"""A preview warns when vendor-usage lines bill a period no usage was stored for (they would
bill 0 licences without a word), and stays quiet once the usage is there."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hub.billing import preview
from hub.billing.recurring import add_recurring_line, create_recurring
from hub.billing.views import batch_view
from hub.db.engine import session_scope
from hub.db.models import Organisation, UsageSnapshot
from hub.host.plugins import DEFAULT_PLUGINS

from .conftest import CONNECTIONS, make_context

APRIL = (dt.date(2026, 4, 1), dt.date(2026, 4, 30))
WITH_USAGE = [*CONNECTIONS, {"name": "pax8", "plugin": "fake-usage"}]


def _schedule(ctx, *, usage_line: bool = True) -> int:
    with session_scope(ctx.engine) as session:
        org = Organisation(name="Acme", currency="USD", billing_day=1)
        session.add(org)
        session.flush()
        schedule = create_recurring(session, org.id, APRIL[0], first_run="start")
        add_recurring_line(session, recurring_id=schedule.id, description="Support",
                           unit_price="100.00")
        if usage_line:
            add_recurring_line(session, recurring_id=schedule.id, line_type="vendor_usage",
                               description="Microsoft 365 BP", unit_price="22.00",
                               filters={"sku": "M365-BP"})
        return org.id


def _snapshot(ctx, org_id: int, start: dt.date, end: dt.date) -> None:
    with session_scope(ctx.engine) as session:
        session.add(UsageSnapshot(organisation_id=org_id, source="pax8", external_id="sub-1",
                                  tenant_external_id="t-1", sku="M365-BP",
                                  quantity=Decimal(12), period_start=start, period_end=end))


def _context(tmp_path, counters, name="gaps.sqlite"):
    return make_context("sqlite:///" + str(tmp_path / name), tmp_path, counters,
                        connections=WITH_USAGE, defaults=DEFAULT_PLUGINS)


def test_a_preview_without_stored_usage_says_so_and_what_to_do(tmp_path, counters):
    ctx = _context(tmp_path, counters)
    org = _schedule(ctx)
    _snapshot(ctx, org, dt.date(2026, 3, 1), dt.date(2026, 3, 31))  # last month's only
    batch = preview(ctx, APRIL[0])
    assert batch.invoices == 1
    [note] = batch.notes
    assert note.startswith("no usage from pax8 is stored for 01 Apr 2026 – 30 Apr 2026")
    assert "`hub pull pax8 --kind usage`" in note
    with session_scope(ctx.engine) as session:
        view = batch_view(session, batch.batch_id, limit=5)
    assert view["notes"] == [note]  # what `hub bill preview` and the API show
    [invoice] = view["invoices"]
    assert [line["quantity"] for line in invoice["lines"]] == [1, 0]
    ctx.engine.dispose()


def test_a_preview_with_the_period_pulled_has_no_note(tmp_path, counters):
    ctx = _context(tmp_path, counters)
    org = _schedule(ctx)
    _snapshot(ctx, org, *APRIL)
    batch = preview(ctx, APRIL[0])
    assert batch.notes == []
    with session_scope(ctx.engine) as session:
        [invoice] = batch_view(session, batch.batch_id, limit=5)["invoices"]
    assert [line["quantity"] for line in invoice["lines"]] == [1, 12]
    ctx.engine.dispose()


def test_no_note_when_nothing_bills_vendor_usage(tmp_path, counters):
    ctx = _context(tmp_path, counters)
    _schedule(ctx, usage_line=False)
    assert preview(ctx, APRIL[0]).notes == []
    ctx.engine.dispose()
