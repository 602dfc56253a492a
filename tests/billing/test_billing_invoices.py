"""One-time invoices, invoices from tickets, pending ticket charges, future items and
proforma invoices (seeds 000 and 002)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlmodel import select

from hub.billing import confirm, preview
from hub.billing.catalogue import (
    add_product, add_ticket_charge, charge_labor, create_organisation, open_ticket,
)
from hub.billing.invoices import (
    add_line, convert_proforma, create_invoice, edit_line_description, finalise,
    invoice_from_ticket, lines_of, load_future_items,
)
from hub.billing.recurring import add_recurring_line, create_recurring
from hub.db.engine import session_scope
from hub.db.models import FutureItem, Invoice, InvoiceLine, OutboxEntry, TicketCharge
from hub.errors import EditNotAllowed, ValidationFailed

D = dt.date


def test_syncro_one_time_invoice_with_manual_item_and_product_then_edited_description(ctx):
    with session_scope(ctx.engine) as s:
        org = create_organisation(s, "Initech")
        add_product(s, "LAB-1", "Remote labour (hour)", "95.00", tax_rate="10", kind="labor")
        invoice = create_invoice(ctx, s, org.id, issue_date=D(2026, 3, 15))
        labour = add_line(s, invoice.id, product_code="LAB-1", quantity="1.5")
        add_line(s, invoice.id, description="Cable, 5 m", unit_price="12.50", quantity=2)
        edit_line_description(s, labour.id, "Remote labour: printer set-up")
        assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
            Decimal("167.50"), Decimal("14.25"), Decimal("181.75"))
        finalise(ctx, s, invoice.id)
        assert (invoice.number, invoice.status.value) == ("202601000001", "unpaid")
        assert [l.description for l in lines_of(s, invoice.id)] == [
            "Remote labour: printer set-up", "Cable, 5 m"]
        with pytest.raises(EditNotAllowed, match="final"):
            add_line(s, invoice.id, description="late", unit_price="1")
        outbox = s.exec(select(OutboxEntry)).all()
        assert [(o.effect.value, o.connection, o.document_id) for o in outbox] == [
            ("push", "books", invoice.id)]


def test_a_product_priced_in_another_currency_needs_the_lines_own_price(ctx):
    with session_scope(ctx.engine) as s:
        org = create_organisation(s, "Yen Co", currency="JPY")
        add_product(s, "M365-BP", "Microsoft 365 Business Premium", "22.00")  # USD
        invoice = create_invoice(ctx, s, org.id, issue_date=D(2026, 3, 15))
        with pytest.raises(ValidationFailed, match="priced in USD; this line is in JPY"):
            add_line(s, invoice.id, product_code="M365-BP")
        schedule = create_recurring(s, org.id, D(2026, 3, 15))
        with pytest.raises(ValidationFailed, match="priced in USD; this line is in JPY"):
            add_recurring_line(s, recurring_id=schedule.id, product_code="M365-BP")
        assert lines_of(s, invoice.id) == []
        line = add_line(s, invoice.id, product_code="M365-BP", unit_price="3300")
        assert (line.unit_price, line.amount) == (Decimal("3300"), Decimal("3300"))


def test_syncro_labor_log_not_charged_to_charged_to_invoiced_through_make_invoice(ctx):
    with session_scope(ctx.engine) as s:
        org = create_organisation(s, "Umbrella")
        ticket = open_ticket(s, org.id, "1042", "Printer offline")
        time = add_ticket_charge(s, ticket.id, "Diagnose printer", quantity="0.5",
                                 unit_price="120.00")
        part = add_ticket_charge(s, ticket.id, "Toner", unit_price="60.00", is_labor=False)
        assert (time.labor_status.value, part.labor_status.value) == ("not_charged", "charged")
        charge_labor(s, time.id)
        assert time.labor_status.value == "charged"
        invoice = invoice_from_ticket(ctx, s, ticket.id, issue_date=D(2026, 3, 16))
        assert invoice.total == Decimal("120.00")
        assert time.labor_status.value == "charged"  # only finalising invoices it
        finalise(ctx, s, invoice.id)
        s.refresh(time)
        s.refresh(part)
        assert (time.labor_status.value, part.labor_status.value) == ("invoiced", "invoiced")
        with pytest.raises(ValidationFailed, match="no charged"):
            invoice_from_ticket(ctx, s, ticket.id)


def test_syncro_pending_ticket_charges_filtered_by_status_and_ordered(ctx):
    with session_scope(ctx.engine) as s:
        org = create_organisation(s, "Hooli")
        schedule = create_recurring(s, org.id, D(2026, 3, 1), add_pending_ticket_charges=True,
                                    ticket_status_filter=["Resolved"],
                                    ticket_charge_order="newest_first")
        add_recurring_line(s, recurring_id=schedule.id, description="Support plan",
                           unit_price="200.00")
        resolved = open_ticket(s, org.id, "7", "Mail", status="Resolved")
        still_open = open_ticket(s, org.id, "8", "VPN", status="In Progress")
        for hour, ticket in ((9, resolved), (14, resolved), (10, still_open)):
            add_ticket_charge(s, ticket.id, f"Work at {hour}:00", quantity="1",
                              unit_price="100.00", charged=True,
                              worked_at=dt.datetime(2026, 2, 20, hour, tzinfo=dt.timezone.utc))
        add_ticket_charge(s, resolved.id, "Not yet charged", unit_price="100.00")
    batch = preview(ctx, D(2026, 3, 1))
    with session_scope(ctx.engine) as s:
        invoice = s.exec(select(Invoice).where(Invoice.batch_id == batch.batch_id)).one()
        lines = lines_of(s, invoice.id)
        assert [l.description for l in lines] == [
            "Support plan", "Ticket #7: Work at 14:00", "Ticket #7: Work at 9:00"]
        assert invoice.total == Decimal("400.00")
        reserved = s.exec(select(TicketCharge).where(TicketCharge.invoice_line_id.is_not(None))).all()
        assert {c.labor_status.value for c in reserved} == {"charged"}
    confirm(ctx, batch.batch_id)
    with session_scope(ctx.engine) as s:
        statuses = sorted((c.description, c.labor_status.value)
                          for c in s.exec(select(TicketCharge)))
    assert statuses == [("Not yet charged", "not_charged"), ("Work at 10:00", "charged"),
                        ("Work at 14:00", "invoiced"), ("Work at 9:00", "invoiced")]


def test_splynx_future_items_go_into_the_next_recurring_invoice_never_below_zero(ctx):
    """A +100 debit and a -200 credit on a 45.00 invoice: total 0.00, and the 55.00 of credit
    the invoice could not absorb stays a future item for the next one."""
    with session_scope(ctx.engine) as s:
        org = create_organisation(s, "Stark")
        schedule = create_recurring(s, org.id, D(2026, 3, 1))
        add_recurring_line(s, recurring_id=schedule.id, description="Internet",
                           unit_price="45.00")
        s.add(FutureItem(organisation_id=org.id, description="Router", amount=Decimal("100"),
                         created_on=D(2026, 2, 20)))
        s.add(FutureItem(organisation_id=org.id, description="Outage credit",
                         amount=Decimal("-200"), created_on=D(2026, 2, 21)))
    batch = preview(ctx, D(2026, 3, 1))
    with session_scope(ctx.engine) as s:
        invoice = s.exec(select(Invoice).where(Invoice.batch_id == batch.batch_id)).one()
        assert [(l.description, l.amount) for l in lines_of(s, invoice.id)] == [
            ("Internet", Decimal("45.00")), ("Router", Decimal("100.00")),
            ("Outage credit", Decimal("-145.00"))]
        assert invoice.total == Decimal("0.00")
    confirm(ctx, batch.batch_id)
    with session_scope(ctx.engine) as s:
        items = s.exec(select(FutureItem).order_by(FutureItem.id)).all()
        assert [(i.description, i.amount, i.used) for i in items] == [
            ("Router", Decimal("100"), True), ("Outage credit", Decimal("-200"), True),
            ("Outage credit (rest)", Decimal("-55"), False)]
    april = preview(ctx, D(2026, 4, 1))
    with session_scope(ctx.engine) as s:
        invoice = s.exec(select(Invoice).where(Invoice.batch_id == april.batch_id)).one()
        assert invoice.total == Decimal("0.00")
        assert [l.amount for l in lines_of(s, invoice.id)] == [Decimal("45.00"),
                                                               Decimal("-45.00")]


def test_splynx_load_future_items_into_a_one_time_invoice(ctx):
    with session_scope(ctx.engine) as s:
        org = create_organisation(s, "Wayne")
        s.add(FutureItem(organisation_id=org.id, description="Site visit", amount=Decimal("80"),
                         created_on=D(2026, 3, 1)))
        invoice = create_invoice(ctx, s, org.id)
        add_line(s, invoice.id, description="Switch", unit_price="120.00")
        load_future_items(s, invoice.id)
        assert invoice.total == Decimal("200.00")
        finalise(ctx, s, invoice.id)
        assert s.exec(select(FutureItem)).one().used


def test_splynx_proforma_is_never_final_and_converts_to_an_invoice(ctx):
    with session_scope(ctx.engine) as s:
        org = create_organisation(s, "Cyberdyne")
        proforma = create_invoice(ctx, s, org.id, proforma=True)
        add_line(s, proforma.id, description="Annual licence", unit_price="1200.00")
        with pytest.raises(ValidationFailed, match="proforma"):
            finalise(ctx, s, proforma.id)
        invoice = convert_proforma(ctx, s, proforma.id)
        assert (invoice.number, invoice.total, invoice.converted_from_id) == (
            "202601000001", Decimal("1200.00"), proforma.id)
        assert proforma.number is None and proforma.status.value == "draft"
        assert s.exec(select(OutboxEntry).where(OutboxEntry.document_id == proforma.id)).all() == []
        with pytest.raises(ValidationFailed, match="already converted"):
            convert_proforma(ctx, s, proforma.id)
        assert len(s.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()) == 1


def test_discarding_a_preview_releases_its_future_items_and_ticket_charges(ctx):
    from hub.billing import discard

    with session_scope(ctx.engine) as s:
        org = create_organisation(s, "Oscorp")
        schedule = create_recurring(s, org.id, D(2026, 3, 1), add_pending_ticket_charges=True)
        add_recurring_line(s, recurring_id=schedule.id, description="Plan", unit_price="50.00")
        ticket = open_ticket(s, org.id, "9", "Laptop")
        add_ticket_charge(s, ticket.id, "Setup", unit_price="80.00", charged=True)
        s.add(FutureItem(organisation_id=org.id, description="Fee", amount=Decimal("5"),
                         created_on=D(2026, 2, 1)))
    first = preview(ctx, D(2026, 3, 1))
    with session_scope(ctx.engine) as s:
        assert s.exec(select(FutureItem)).one().invoice_id is not None
        assert s.exec(select(TicketCharge)).one().invoice_line_id is not None
    discard(ctx, first.batch_id)
    with session_scope(ctx.engine) as s:
        assert s.exec(select(FutureItem)).one().invoice_id is None
        assert s.exec(select(TicketCharge)).one().invoice_line_id is None
        assert s.exec(select(Invoice)).all() == []
    again = preview(ctx, D(2026, 3, 1))
    with session_scope(ctx.engine) as s:
        invoice = s.exec(select(Invoice).where(Invoice.batch_id == again.batch_id)).one()
        assert invoice.total == Decimal("135.00")
