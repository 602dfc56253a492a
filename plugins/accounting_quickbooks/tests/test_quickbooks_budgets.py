"""Intuit's throttles are kept by the hub's shared budgets of the company: workers pushing at
once (threads here, with the budget in this process or in Redis, where every process of a
production hub keeps it) stay under the batch limit without a single 429."""

from __future__ import annotations

import threading

import pytest

from hub import BudgetLimits, PushStatus
from hub.sources.budgets import budget_store, configure_budgets

from hub_accounting_quickbooks import plugin, ratelimit
from hub_accounting_quickbooks.sandbox import Limits, QuickBooksSandbox
from hub_accounting_quickbooks.testing import connected, invoice_doc

WORKERS = 3


@pytest.fixture(params=["memory", "redis"])
def budgets(request):
    """Budgets in this process, or in Redis as every process of a production hub keeps them."""
    if request.param == "redis":
        url = request.getfixturevalue("hub_redis_url")
        configure_budgets(url, request.getfixturevalue("hub_redis_namespace"))
    else:
        configure_budgets(None)
    yield budget_store()
    configure_budgets(None)


def test_workers_share_the_company_budget_and_intuit_never_throttles(budgets, monkeypatch):
    # a company allowed 6 batch requests a minute (Intuit's 40, scaled down so the test is
    # short), on a clock 10 times fast (a minute: 6 s)
    monkeypatch.setattr(ratelimit, "BATCH_LIMITS", BudgetLimits(per_minute=6))
    sandbox = QuickBooksSandbox(scale=10, limits=Limits(batch_per_minute=6))
    outcomes: list = []
    with sandbox.serve() as url:
        workers = [connected(sandbox, url, name=f"qbo-{n}") for n in range(WORKERS)]

        def push(n: int) -> None:
            docs = [invoice_doc(100 * n + i, organisation_id=n + 1) for i in range(1, 61)]
            outcomes.extend(plugin.hub_push_invoices(connection=workers[n], invoices=docs))

        threads = [threading.Thread(target=push, args=(n,)) for n in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    calls = sandbox.api_calls()
    assert len(outcomes) == WORKERS * 60 and {o.status for o in outcomes} == {PushStatus.synced}
    assert [c for c in calls if c.status == 429] == []
    # more batch requests than one minute allows, and the sandbox (which counts them in
    # sliding minutes) refused none: they were paced across the workers
    assert len([c for c in calls if c.path == "/batch"]) > 6
