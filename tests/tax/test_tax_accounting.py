"""Tax the accounting systems understand: an exclusive and an inclusive price list through both
accounting plugins, totals equal to what Xero and QuickBooks compute for the same lines, a
rounding-sensitive list in both directions, and a taxed line without a mapping refused before
anything is pushed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from hub import InvoiceDoc, LineDoc, Money, PushStatus
from hub.core.tax import TaxRounding, document_totals, line_taxes

ISSUE = dt.date(2026, 11, 1)

#: (description, quantity, unit price, tax rate %): net prices
EXCLUSIVE_PRICES = [("Managed workstation", "3", "12.3456", "20"), ("Backup", "1", "9.99", "20"),
                    ("Cloud storage (GB)", "7", "0.13", "20"), ("Books", "2", "19.99", "5"),
                    ("Setup", "1", "100.00", "0")]
#: gross prices, as a customer in most of the world sees them
INCLUSIVE_PRICES = [("Managed workstation", "3", "14.99", "20"), ("Backup", "1", "11.99", "20"),
                    ("Cloud storage (GB)", "7", "0.17", "20"), ("Books", "2", "20.99", "5"),
                    ("Setup", "1", "120.00", "0")]
#: seven lines whose tax rounds differently per line (0.21) and per document (0.18)
ROUNDING_SENSITIVE = [(f"Licence {n}", "1", "0.13", "20") for n in range(7)]


def priced(i: int, prices, *, inclusive: bool, rounding: TaxRounding) -> InvoiceDoc:
    """An invoice priced by the hub's own tax arithmetic (:mod:`hub.core.tax`)."""
    amounts = [(Money(unit, "USD") * Decimal(qty)).rounded() for _, qty, unit, _ in prices]
    taxes = line_taxes([(a, p[3]) for a, p in zip(amounts, prices)], inclusive=inclusive,
                       rounding=rounding)
    lines = tuple(LineDoc(description=d, quantity=q, unit_price=Money(u, "USD"), amount=a,
                          tax_rate=r, tax_amount=t)
                  for (d, q, u, r), a, t in zip(prices, amounts, taxes))
    totals = document_totals(amounts, taxes, "USD", inclusive=inclusive)
    return InvoiceDoc(id=i, number=f"TAX-{i}", organisation_id=1, organisation_name="Acme",
                      issue_date=ISSUE, due_date=ISSUE + dt.timedelta(days=30), currency="USD",
                      lines=lines, subtotal=totals.subtotal, tax_total=totals.tax,
                      total=totals.total, prices_include_tax=inclusive)


@pytest.fixture(scope="module")
def xero():
    from hub_accounting_xero.sandbox import XeroSandbox
    from hub_accounting_xero.testing import connected

    sandbox = XeroSandbox(scale=60)
    with sandbox.serve() as url:
        yield sandbox, connected(sandbox, url)
    assert not sandbox.schema_violations


@pytest.fixture(scope="module")
def quickbooks():
    from hub_accounting_quickbooks.sandbox import QuickBooksSandbox
    from hub_accounting_quickbooks.testing import connected

    sandbox = QuickBooksSandbox(scale=60)
    with sandbox.serve() as url:
        yield sandbox, connected(sandbox, url)
    assert not sandbox.schema_violations


def push_to_xero(xero, doc: InvoiceDoc) -> dict:
    from hub_accounting_xero import plugin

    sandbox, conn = xero
    [outcome] = plugin.hub_push_invoices(connection=conn, invoices=[doc])
    assert outcome.status is PushStatus.synced, outcome.message
    return sandbox.books().invoices[outcome.external_id]


def push_to_quickbooks(quickbooks, doc: InvoiceDoc) -> dict:
    from hub_accounting_quickbooks import plugin

    sandbox, conn = quickbooks
    [outcome] = plugin.hub_push_invoices(connection=conn, invoices=[doc])
    assert outcome.status is PushStatus.synced, outcome.message
    return sandbox.books().invoices()[outcome.external_id]


def test_exclusive_price_list_through_xero(xero):
    doc = priced(1, EXCLUSIVE_PRICES, inclusive=False, rounding=TaxRounding.line)
    stored = push_to_xero(xero, doc)
    assert stored["LineAmountTypes"] == "Exclusive"
    assert [ln["TaxType"] for ln in stored["LineItems"]] == ["OUTPUT2"] * 3 + ["RROUTPUT", "NONE"]
    assert (stored["SubTotal"], stored["TotalTax"], stored["Total"]) == (
        doc.subtotal.amount, doc.tax_total.amount, doc.total.amount)
    assert stored["Total"] == Decimal("199.51")  # 187.92 net + 11.59 tax


def test_inclusive_price_list_through_xero(xero):
    doc = priced(2, INCLUSIVE_PRICES, inclusive=True, rounding=TaxRounding.line)
    stored = push_to_xero(xero, doc)
    assert stored["LineAmountTypes"] == "Inclusive"
    # what the customer sees is what Xero totals: the gross prices added up
    assert stored["Total"] == Decimal("220.13") == doc.total.amount
    assert (stored["SubTotal"], stored["TotalTax"]) == (doc.subtotal.amount, doc.tax_total.amount)


def test_exclusive_price_list_through_quickbooks(quickbooks):
    doc = priced(3, EXCLUSIVE_PRICES, inclusive=False, rounding=TaxRounding.document)
    stored = push_to_quickbooks(quickbooks, doc)
    assert stored["GlobalTaxCalculation"] == "TaxExcluded"
    assert [ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in stored["Line"]] == \
        ["5", "5", "5", "6", "7"]
    assert stored["TxnTaxDetail"]["TotalTax"] == doc.tax_total.amount
    assert stored["TotalAmt"] == doc.total.amount == Decimal("199.51")


def test_inclusive_price_list_through_quickbooks(quickbooks):
    doc = priced(4, INCLUSIVE_PRICES, inclusive=True, rounding=TaxRounding.document)
    stored = push_to_quickbooks(quickbooks, doc)
    assert stored["GlobalTaxCalculation"] == "TaxInclusive"
    assert [ln["SalesItemLineDetail"]["TaxInclusiveAmt"] for ln in stored["Line"]] == \
        [ln.amount.amount for ln in doc.lines]
    assert stored["TotalAmt"] == doc.total.amount == Decimal("220.13")
    assert stored["TxnTaxDetail"]["TotalTax"] == doc.tax_total.amount


@pytest.mark.parametrize("inclusive", [False, True], ids=["exclusive", "inclusive"])
def test_rounding_sensitive_lines_agree_with_each_system(xero, quickbooks, inclusive):
    from hub_accounting_quickbooks import plugin as qbo_plugin
    from hub_accounting_xero import plugin as xero_plugin

    base = 10 if inclusive else 20
    per_line = priced(base + 1, ROUNDING_SENSITIVE, inclusive=inclusive,
                      rounding=TaxRounding.line)
    per_document = priced(base + 2, ROUNDING_SENSITIVE, inclusive=inclusive,
                          rounding=TaxRounding.document)
    assert per_line.tax_total != per_document.tax_total  # the case is rounding-sensitive

    # Xero rounds per line: the per-line document goes through with the hub's totals ...
    assert push_to_xero(xero, per_line)["Total"] == per_line.total.amount
    # ... and the per-document one is refused before anything is sent, saying why
    [refused] = xero_plugin.hub_push_invoices(connection=xero[1], invoices=[per_document])
    assert refused.status is PushStatus.rejected and "per line" in refused.message

    # QuickBooks rounds per document: the other way round
    stored = push_to_quickbooks(quickbooks, per_document)
    assert stored["TotalAmt"] == per_document.total.amount
    assert stored["TxnTaxDetail"]["TotalTax"] == per_document.tax_total.amount
    before = len(quickbooks[0].books().invoices())
    [refused] = qbo_plugin.hub_push_invoices(connection=quickbooks[1], invoices=[per_line])
    assert refused.status is PushStatus.rejected and "per tax code" in refused.message
    assert len(quickbooks[0].books().invoices()) == before


def test_taxed_line_without_mapping_is_refused_before_anything_is_pushed():
    from hub_accounting_quickbooks import plugin as qbo_plugin
    from hub_accounting_quickbooks.sandbox import QuickBooksSandbox
    from hub_accounting_quickbooks.testing import connected as qbo_connected
    from hub_accounting_xero import plugin as xero_plugin
    from hub_accounting_xero.sandbox import XeroSandbox
    from hub_accounting_xero.testing import connected as xero_connected

    doc = priced(30, [("Consulting", "2", "50.00", "17.5")], inclusive=False,
                 rounding=TaxRounding.line)
    qbo = QuickBooksSandbox(scale=60)
    with qbo.serve() as url:
        [outcome] = qbo_plugin.hub_push_invoices(connection=qbo_connected(qbo, url),
                                                 invoices=[doc])
    assert outcome.status is PushStatus.rejected
    assert "taxed at 17.5 % but connection 'qbo' maps no QuickBooks tax code to 17.5 %" \
        in outcome.message and "5 (20.0% S, 20 %)" in outcome.message
    assert not qbo.books().customers() and not qbo.books().invoices()

    xero = XeroSandbox(scale=60)
    with xero.serve() as url:
        [outcome] = xero_plugin.hub_push_invoices(connection=xero_connected(xero, url),
                                                  invoices=[doc])
    assert outcome.status is PushStatus.rejected
    assert "maps no Xero tax type to 17.5 %" in outcome.message
    assert "OUTPUT2 (20% (VAT on Income), 20 %)" in outcome.message
    assert not xero.books().contacts and not xero.books().invoices


def test_mapping_to_an_inactive_code_or_another_rate_is_refused():
    from hub_accounting_quickbooks import plugin as qbo_plugin
    from hub_accounting_quickbooks.sandbox import QuickBooksSandbox
    from hub_accounting_quickbooks.testing import connected as qbo_connected

    qbo = QuickBooksSandbox(scale=60)
    doc = priced(31, [("Consulting", "2", "50.00", "20")], inclusive=False,
                 rounding=TaxRounding.line)
    with qbo.serve() as url:
        inactive = qbo_connected(qbo, url, tax_codes={"20": "9"})
        [outcome] = qbo_plugin.hub_push_invoices(connection=inactive, invoices=[doc])
        assert "has made inactive tax code '9'" in outcome.message
        other_rate = qbo_connected(qbo, url, name="qbo2", tax_codes={"20": "6"})
        [outcome] = qbo_plugin.hub_push_invoices(connection=other_rate, invoices=[doc])
        assert "tax code '6' (5.0% R) is 5 %" in outcome.message
    assert not qbo.books().invoices()


def test_document_rounding_splits_back_to_lines_that_add_up():
    amounts = [Money("0.13", "USD")] * 7 + [Money("10.00", "USD")]
    taxes = line_taxes([(a, "20") for a in amounts], inclusive=False,
                       rounding=TaxRounding.document)
    assert sum(t.amount for t in taxes) == Decimal("2.18")  # round(10.91 x 20 %)
    assert all(t.amount == t.amount.quantize(Decimal("0.01")) for t in taxes)
    assert line_taxes([(Money("0.13", "USD"), "20")] * 7, inclusive=False) == \
        [Money("0.03", "USD")] * 7
