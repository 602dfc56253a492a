"""Calls beyond ceil(N/50) (issue #21): contacts created in one bundle per 100 customers, and
the minute limit paced instead of spending a call on a 429."""

from __future__ import annotations

from hub import PushStatus

from hub_accounting_xero import plugin
from hub_accounting_xero.testing import connected, invoice_doc


def test_first_push_for_a_hundred_customers_costs_one_lookup_and_one_contact_create(
        sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    docs = [invoice_doc(i, organisation_id=i) for i in range(1, 101)]

    outcomes = plugin.hub_push_invoices(connection=conn, invoices=docs)

    assert {o.status for o in outcomes} == {PushStatus.synced}
    calls = [(c.method, c.path) for c in sandbox.api_calls()]
    assert calls.count(("GET", "/Contacts")) == 1
    assert calls.count(("PUT", "/Contacts")) == 1
    assert calls.count(("PUT", "/Invoices")) == 2
    assert len(sandbox.books().contacts) == 100


def test_a_smaller_batch_size_still_makes_smaller_contact_bundles(sandbox, xero_url):
    conn = connected(sandbox, xero_url, batch_size=10)
    plugin.hub_push_invoices(connection=conn,
                             invoices=[invoice_doc(i, organisation_id=i) for i in range(1, 46)])
    creates = [c for c in sandbox.api_calls() if (c.method, c.path) == ("PUT", "/Contacts")]
    assert len(creates) == 3  # bundles of 20, 20 and 5
