"""Tax-inclusive prices per organisation and tax rounded per line or per document, through a
billing run to the document an accounting plugin receives — and into QuickBooks, whose totals
agree with the hub's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlmodel import select

from hub import PushStatus
from hub.host.context import HubContext
from hub.billing import confirm, preview
from hub.billing.catalogue import create_organisation
from hub.billing.recurring import add_recurring_line, create_recurring
from hub.config import HubSettings
from hub.db.engine import session_scope
from hub.db.models import Invoice
from hub.jobs.push_records import build_invoice_doc

D = dt.date


def _customer(ctx, *, inclusive: bool) -> int:
    with session_scope(ctx.engine) as s:
        org = create_organisation(s, "Acme Ltd", prices_include_tax=inclusive)
        schedule = create_recurring(s, org.id, D(2026, 3, 1), name="Services", billing_day=1,
                                    first_run="start")
        for n in range(7):
            add_recurring_line(s, recurring_id=schedule.id, description=f"Licence {n}",
                               unit_price="0.13", tax_rate="20")
        add_recurring_line(s, recurring_id=schedule.id, description="Helpdesk",
                           unit_price="120.00", tax_rate="20")
        return org.id


def _bill(ctx) -> Invoice:
    batch = preview(ctx, D(2026, 3, 1))
    confirm(ctx, batch.batch_id)
    with session_scope(ctx.engine) as s:
        invoice = s.exec(select(Invoice).where(Invoice.batch_id == batch.batch_id)).one()
        s.expunge(invoice)
        return invoice


def _with_rounding(ctx: HubContext, rounding: str) -> HubContext:
    settings = HubSettings(data_dir=ctx.settings.data_dir, connections=ctx.settings.connections,
                           billing={"tax_rounding": rounding})
    return HubContext(settings=settings, engine=ctx.engine, plugins=ctx.plugins, clock=ctx.clock)


def test_exclusive_prices_rounded_per_line(ctx):
    _customer(ctx, inclusive=False)
    invoice = _bill(ctx)
    # 7 x round(0.026) = 0.21, + 24.00
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
        Decimal("120.91"), Decimal("24.21"), Decimal("145.12"))
    assert invoice.prices_include_tax is False


def test_inclusive_prices_rounded_per_document(ctx):
    ctx = _with_rounding(ctx, "document")
    _customer(ctx, inclusive=True)
    invoice = _bill(ctx)
    # the customer pays the printed prices; the tax inside them is round(120.91 / 6) = 20.15
    assert (invoice.total, invoice.tax_total, invoice.subtotal) == (
        Decimal("120.91"), Decimal("20.15"), Decimal("100.76"))
    assert invoice.prices_include_tax is True
    with session_scope(ctx.engine) as s:
        doc = build_invoice_doc(s, invoice.id, "qbo")
    assert doc.prices_include_tax and doc.total.amount == Decimal("120.91")
    assert sum(line.tax_amount.amount for line in doc.lines) == Decimal("20.15")

    from hub_accounting_quickbooks import plugin
    from hub_accounting_quickbooks.sandbox import QuickBooksSandbox
    from hub_accounting_quickbooks.testing import connected

    sandbox = QuickBooksSandbox(scale=60)
    with sandbox.serve() as url:
        [outcome] = plugin.hub_push_invoices(connection=connected(sandbox, url), invoices=[doc])
    assert outcome.status is PushStatus.synced, outcome.message
    stored = sandbox.books().invoices()[outcome.external_id]
    assert stored["TotalAmt"] == invoice.total
    assert stored["TxnTaxDetail"]["TotalTax"] == invoice.tax_total
    assert not sandbox.schema_violations


def test_a_gross_product_price_on_a_net_invoice_and_the_other_way_round(ctx):
    """Prices are inclusive or exclusive per organisation *or* product: a product priced with
    tax on an exclusive organisation's invoice has its tax taken out of the unit price, and a
    net product on an inclusive organisation's invoice has it put in."""
    from hub.billing.catalogue import add_product

    with session_scope(ctx.engine) as s:
        add_product(s, "M365", "Microsoft 365 (price with VAT)", "14.40", tax_rate="20",
                    prices_include_tax=True)
        add_product(s, "HD", "Helpdesk (net)", "100.00", tax_rate="20")
        net_org = create_organisation(s, "Net Ltd")
        gross_org = create_organisation(s, "Gross Ltd", prices_include_tax=True)
        for org in (net_org, gross_org):
            schedule = create_recurring(s, org.id, D(2026, 3, 1), name="Services",
                                        billing_day=1, first_run="start")
            add_recurring_line(s, recurring_id=schedule.id, product_code="M365", quantity="3")
            add_recurring_line(s, recurring_id=schedule.id, product_code="HD")
        net_id, gross_id = net_org.id, gross_org.id
    batch = preview(ctx, D(2026, 3, 1))
    with session_scope(ctx.engine) as s:
        invoices = {i.organisation_id: i for i in s.exec(
            select(Invoice).where(Invoice.batch_id == batch.batch_id))}
        from hub.db.models import InvoiceLine

        lines = {i: [(ln.unit_price, ln.amount, ln.tax_amount) for ln in s.exec(
            select(InvoiceLine).where(InvoiceLine.invoice_id == invoices[i].id)
            .order_by(InvoiceLine.position))] for i in (net_id, gross_id)}
        net, gross = invoices[net_id], invoices[gross_id]
        assert lines[net_id] == [(Decimal("12.0000"), Decimal("36.00"), Decimal("7.20")),
                                 (Decimal("100.00"), Decimal("100.00"), Decimal("20.00"))]
        assert (net.subtotal, net.tax_total, net.total, net.prices_include_tax) == (
            Decimal("136.00"), Decimal("27.20"), Decimal("163.20"), False)
        assert lines[gross_id] == [(Decimal("14.40"), Decimal("43.20"), Decimal("7.20")),
                                   (Decimal("120.0000"), Decimal("120.00"), Decimal("20.00"))]
        assert (gross.subtotal, gross.tax_total, gross.total, gross.prices_include_tax) == (
            Decimal("136.00"), Decimal("27.20"), Decimal("163.20"), True)
