"""Calls beyond ceil(N/50) (issue #21): contacts created in one bundle per 100 customers, and
the minute limit paced instead of spending a call on a 429."""

from __future__ import annotations

from hub import PushStatus

from hub_accounting_xero import plugin
from hub_accounting_xero.client import XeroClient
from hub_accounting_xero.ratelimit import MINUTE_WINDOW, PACING_MARGIN, TenantBudget
from hub_accounting_xero.sandbox import Limits, XeroSandbox
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


def test_the_minute_limit_is_paced_not_hit():
    """Five calls a minute allowed, eight made: the client waits for the window once Xero
    says none is left, and no call is refused with a 429."""
    sandbox = XeroSandbox(scale=1, limits=Limits(per_minute=5))
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the sandbox's minute passes without real waiting
        waits.append(seconds)
        sandbox.clock.advance(seconds)

    with sandbox.serve() as url:
        conn = connected(sandbox, url)
        with XeroClient(conn, sleep=sleep) as client:
            for _ in range(8):
                client.get("/Contacts")
    statuses = [c.status for c in sandbox.api_calls() if c.path == "/Contacts"]
    assert statuses == [200] * 8
    assert len(waits) >= 1 and all(0 < w <= MINUTE_WINDOW for w in waits)


def test_budget_waits_only_when_xero_says_nothing_is_left():
    budget = TenantBudget()
    budget.sending(now=100.0)
    assert budget.minute_wait(now=101.0) == 0.0  # nothing known yet
    budget.minute_remaining = 3
    assert budget.minute_wait(now=101.0) == 0.0
    budget.minute_remaining = 0
    assert budget.minute_wait(now=101.0) == MINUTE_WINDOW - 1.0 + PACING_MARGIN
    assert budget.minute_wait(now=100.0 + MINUTE_WINDOW + 5) == 0.0
