"""Calls beyond ceil(N/50) (issue #21): contacts created in one bundle per 100 customers with
no look-up first (Xero refuses a ContactNumber it already has, and only those are looked up),
and the minute limit paced instead of spending a call on a 429."""

from __future__ import annotations

from hub import PushStatus

from hub_accounting_xero import plugin
from hub_accounting_xero.testing import connected, invoice_doc


def test_first_push_for_a_hundred_customers_costs_one_contact_create_and_no_lookup(
        sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    docs = [invoice_doc(i, organisation_id=i) for i in range(1, 101)]

    outcomes = plugin.hub_push_invoices(connection=conn, invoices=docs)

    assert {o.status for o in outcomes} == {PushStatus.synced}
    calls = [(c.method, c.path) for c in sandbox.api_calls()]
    assert calls.count(("GET", "/Contacts")) == 0
    assert calls.count(("PUT", "/Contacts")) == 1
    assert calls.count(("PUT", "/Invoices")) == 2
    assert len(sandbox.books().contacts) == 100


def test_a_smaller_batch_size_still_makes_smaller_contact_bundles(sandbox, xero_url):
    conn = connected(sandbox, xero_url, batch_size=10)
    plugin.hub_push_invoices(connection=conn,
                             invoices=[invoice_doc(i, organisation_id=i) for i in range(1, 46)])
    creates = [c for c in sandbox.api_calls() if (c.method, c.path) == ("PUT", "/Contacts")]
    assert len(creates) == 3  # bundles of 20, 20 and 5


def test_only_the_contacts_xero_refused_are_looked_up_and_adopted(sandbox, xero_url):
    """Two of five customers already have their contact (an earlier create whose answer was
    lost, under an older name): the create is refused for those two, one look-up adopts them,
    and no contact is duplicated."""
    books = sandbox.books()
    earlier = {n: books.create_contact({"Name": f"Old name {n}", "ContactNumber": f"HUB-{n}"})[0]
               for n in (2, 4)}
    conn = connected(sandbox, xero_url)

    outcomes = plugin.hub_push_invoices(
        connection=conn, invoices=[invoice_doc(i, organisation_id=i) for i in range(1, 6)])

    assert {o.status for o in outcomes} == {PushStatus.synced}
    calls = [(c.method, c.path) for c in sandbox.api_calls()]
    assert calls.count(("PUT", "/Contacts")) == 1 and calls.count(("GET", "/Contacts")) == 1
    assert len(books.contacts) == 5
    for n, contact in earlier.items():
        invoice = next(i for i in books.invoices.values() if i["InvoiceNumber"] == f"INV-{n:05d}")
        assert invoice["Contact"]["ContactID"] == contact["ContactID"]
