"""One bad record never stops a billing run (issue #16): bad records planted straight in the
database next to 50 good organisations are left out and named; the 50 are billed; `hub bill
show` and `GET /batches/{id}` list what was left out. A run that finds nothing stores no batch."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import select
from typer.testing import CliRunner

from hub.billing import confirm, preview
from hub.billing.catalogue import create_organisation
from hub.billing.contracts import create_contract
from hub.billing.recurring import add_recurring_line, create_recurring
from hub.cli import state as cli_state
from hub.cli.main import build_app
from hub.db.engine import session_scope
from hub.db.models import BillingBatch, Invoice, Organisation, RecurringLine
from hub.jobs.assemble import build_runtime
from hub.web.app import create_app
from hub.web.tokens import create_token

D = dt.date


def _agreement(s, name: str, price: str = "45.00") -> tuple[int, int, int]:
    org = create_organisation(s, name)
    schedule = create_recurring(s, org.id, D(2026, 3, 1))
    line = add_recurring_line(s, recurring_id=schedule.id, description="Internet",
                              unit_price=price)
    return org.id, schedule.id, line.id


def _plant_bad_records(ctx) -> dict[str, tuple[str, str]]:
    """Each bad record the issue names, and some more, written past the entry rules; returns
    organisation name -> (agreement, a word the reason must contain)."""
    expected = {}
    lt = RecurringLine.__table__
    ot = Organisation.__table__
    with session_scope(ctx.engine) as s:
        for code in ("US", "usd", "ZZZ", ""):
            org_id, schedule_id, _ = _agreement(s, f"Bad currency {code!r}")
            s.execute(update(ot).where(ot.c.id == org_id).values(currency=code))
            expected[f"Bad currency {code!r}"] = (f"recurring invoice {schedule_id}", "currency")
        cases = [
            ("Negative tax", {"tax_rate": Decimal("-5")}, "tax rate"),
            ("Tax 150", {"tax_rate": Decimal("150")}, "tax rate"),
            ("Negative price", {"unit_price": Decimal("-45")}, "below zero"),
            ("Negative quantity", {"quantity": Decimal("-3")}, "negative quantity"),
        ]
        for name, values, word in cases:
            _, schedule_id, line_id = _agreement(s, name)
            s.execute(update(lt).where(lt.c.id == line_id).values(**values))
            expected[name] = (f"recurring invoice {schedule_id}", word)
        for name, filters in (("Misspelt filter", {"asset_typ": "server"}),
                              ("Filter on a standard line", {"status": "active"}),
                              ("Nested filter", {"asset_type": {"$ne": "x"}})):
            org = create_organisation(s, name)
            schedule = create_recurring(s, org.id, D(2026, 3, 1))
            line = add_recurring_line(s, recurring_id=schedule.id, line_type="asset_counter",
                                      description="Devices", unit_price="10")
            if name == "Filter on a standard line":
                s.execute(update(lt).where(lt.c.id == line.id).values(line_type="standard"))
            s.execute(update(lt).where(lt.c.id == line.id).values(counter_filters=filters))
            expected[name] = (f"recurring invoice {schedule.id}", "filter")
        # A contract whose organisation has a bad currency: the cycle is left out too.
        org = create_organisation(s, "Bad contract")
        contract = create_contract(s, org.id, "Support", D(2026, 3, 1), cycles=2)
        add_recurring_line(s, contract_id=contract.id, description="Support", unit_price="99")
        s.execute(update(ot).where(ot.c.id == org.id).values(currency="XX1"))
        expected["Bad contract"] = (f"contract {contract.id}", "currency")
    return expected


def test_bad_records_are_left_out_and_named_while_fifty_good_ones_are_billed(ctx):
    with session_scope(ctx.engine) as s:
        good = [_agreement(s, f"Good {n:02d}")[0] for n in range(50)]
    expected = _plant_bad_records(ctx)

    summary = preview(ctx, D(2026, 3, 1))

    assert summary.invoices == 50
    named = {item["organisation"]: item for item in summary.left_out}
    assert set(named) == set(expected)
    for name, (agreement, word) in expected.items():
        assert named[name]["agreement"] == agreement, name
        assert word in named[name]["reason"], (name, named[name]["reason"])
        assert named[name]["organisation_id"] is not None
    with session_scope(ctx.engine) as s:
        billed = {i.organisation_id for i in s.exec(select(Invoice)).all()}
        batch = s.get(BillingBatch, summary.batch_id)
        assert billed == set(good)
        assert len(batch.left_out) == len(expected)
    assert confirm(ctx, summary.batch_id).invoices == 50

    # hub bill show lists what was left out, one line each with the organisation and reason.
    app, runner = build_app(with_plugins=False), CliRunner()
    cli_state.state._context = ctx
    width, cli_state.console.width = cli_state.console.width, 250
    try:
        shown = runner.invoke(app, ["bill", "show", str(summary.batch_id)]).output
    finally:
        cli_state.console.width = width
        cli_state.reset()
    for name, (agreement, _) in expected.items():
        assert any(name in line and agreement in line and "left out" in line
                   for line in shown.splitlines()), name

    # ... and so does the API.
    runtime = build_runtime(ctx, broker=StubBroker())
    token = create_token(ctx.engine, "isolation")
    with TestClient(create_app(ctx, runtime),
                    headers={"Authorization": f"Bearer {token}"}) as client:
        body = client.get(f"/batches/{summary.batch_id}").json()
    runtime.close()
    assert {i["organisation"] for i in body["left_out"]} == set(expected)


def test_a_run_that_finds_nothing_stores_no_batch(ctx):
    with session_scope(ctx.engine) as s:
        _agreement(s, "Acme")
    assert preview(ctx, D(2026, 2, 1)).batch_id is None
    with session_scope(ctx.engine) as s:
        assert s.exec(select(BillingBatch)).all() == []
    first = preview(ctx, D(2026, 3, 1))
    confirm(ctx, first.batch_id)
    again = preview(ctx, D(2026, 3, 2))
    assert again.batch_id is None and again.invoices == 0
    with session_scope(ctx.engine) as s:
        assert len(s.exec(select(BillingBatch)).all()) == 1


def test_ticket_status_filters_ignore_case(ctx):
    from hub.billing.catalogue import add_ticket_charge, open_ticket

    with session_scope(ctx.engine) as s:
        org = create_organisation(s, "Acme")
        ticket = open_ticket(s, org.id, "T-1", "Printer", status="Resolved")
        add_ticket_charge(s, ticket.id, "Fix printer", quantity="2", unit_price="50",
                          charged=True)
        schedule = create_recurring(s, org.id, D(2026, 3, 1), add_pending_ticket_charges=True,
                                    ticket_status_filter=["resolved"])
        add_recurring_line(s, recurring_id=schedule.id, description="Internet",
                           unit_price="45")
    summary = preview(ctx, D(2026, 3, 1))
    with session_scope(ctx.engine) as s:
        [invoice] = s.exec(select(Invoice).where(Invoice.batch_id == summary.batch_id)).all()
        assert invoice.total == Decimal("145.00")
