"""Invoices and contacts pushed into the sandbox: the normal path."""

from __future__ import annotations

from decimal import Decimal

from hub import PushStatus

from hub_accounting_xero import plugin
from hub_accounting_xero.testing import connected, invoice_doc, line


def test_push_creates_contact_once_and_invoices_with_exact_amounts(sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    docs = [invoice_doc(1, organisation_id=7,
                        lines=(line(quantity="2.5", unit_price="19.9990", tax_rate="20"),)),
            invoice_doc(2, organisation_id=7), invoice_doc(3, organisation_id=8)]
    outcomes = plugin.hub_push_invoices(connection=conn, invoices=docs)
    assert [o.status for o in outcomes] == [PushStatus.synced] * 3
    books = sandbox.books()
    assert sorted(c["ContactNumber"] for c in books.contacts.values()) == ["HUB-7", "HUB-8"]
    stored = {i["InvoiceNumber"]: i for i in books.invoices.values()}
    first = stored["INV-00001"]
    assert first["LineItems"][0]["UnitAmount"] == Decimal("19.9990")
    assert first["LineItems"][0]["LineAmount"] == Decimal("50.00")
    assert first["TotalTax"] == Decimal("10.00") and first["Status"] == "AUTHORISED"
    assert {o.external_id for o in outcomes} == {i["InvoiceID"] for i in stored.values()}
    # every write carried an idempotency key
    writes = [c for c in sandbox.api_calls() if c.method in ("PUT", "POST")]
    assert writes and all(c.idempotency_key for c in writes)

    # pushing again changes nothing and costs no call
    before = len(sandbox.api_calls())
    again = plugin.hub_push_invoices(connection=conn, invoices=docs)
    assert again == outcomes and len(sandbox.api_calls()) == before

    # a new invoice for an organisation already mapped: no contact call at all
    plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(4, organisation_id=8)])
    assert [c.path for c in sandbox.api_calls()[before:]] == ["/Invoices"]
    assert len(books.contacts) == 2


def test_existing_contact_is_found_by_contact_number_not_duplicated(sandbox, xero_url):
    books = sandbox.books()
    existing, _ = books.create_contact({"Name": "Acme (in Xero already)", "ContactNumber": "HUB-9"})
    conn = connected(sandbox, xero_url)
    [outcome] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1, organisation_id=9)])
    assert outcome.status is PushStatus.synced
    assert len(books.contacts) == 1
    assert books.invoices[outcome.external_id]["Contact"]["ContactID"] == existing["ContactID"]


def test_other_plugins_connection_is_not_answered(sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    conn.plugin = "quickbooks"
    assert plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)]) is None


def test_hooks_answer_through_the_hub_plugin_manager(sandbox, xero_url):
    """Called the way the host calls them (pluggy, keyword arguments, first result)."""
    from hub.host.plugins import build_plugin_host

    host = build_plugin_host(load_entry_points=False, extra_plugins=[("accounting_xero", plugin)])
    conn = connected(sandbox, xero_url)
    outcomes = host.hook.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    assert [o.status for o in outcomes] == [PushStatus.synced]
    fetched = host.hook.hub_fetch_external_documents(connection=conn, kind="invoice", since=None,
                                                     until=None)
    assert [d.hub_id for d in fetched] == [1]
