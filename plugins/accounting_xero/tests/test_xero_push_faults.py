"""Pushing under failure: validation rejections, timeouts, dropped connections, 5xx, 429.

The hook is driven the way a retrying job drives it: push, then push again only the documents
whose outcome was ``retry``, until none is left.
"""

from __future__ import annotations

from collections import Counter

from hub import PushStatus

from hub_accounting_xero import plugin
from hub_accounting_xero.testing import connected, invoice_doc

REJECTED = {
    "INV-00017": "Account code '999' has been archived, or has been deleted. Each line item "
                 "must reference a valid account.",
    "INV-00500": "The TaxType code 'OUTPUT9' does not exist or cannot be used for this type "
                 "of transaction.",
    "INV-00999": "Invoice # must be unique.",
}


def drive(conn, docs, between_rounds=lambda: None, max_rounds=10):
    """Push like a job with retries; returns the final outcome per document id and rounds."""
    final = {}
    todo = list(docs)
    rounds = 0
    while todo:
        rounds += 1
        assert rounds <= max_rounds, f"still {len(todo)} to push after {max_rounds} rounds"
        outcomes = plugin.hub_push_invoices(connection=conn, invoices=todo)
        assert sorted(o.document_id for o in outcomes) == sorted(d.id for d in todo)
        for outcome in outcomes:
            final[outcome.document_id] = outcome
            if outcome.status is PushStatus.retry:
                assert outcome.retry_after is not None
        todo = [d for d in todo if final[d.id].status is PushStatus.retry]
        between_rounds()
    return final, rounds


def test_thousand_invoices_with_rejections_and_timeouts_sync_exactly_once(sandbox, xero_url):
    conn = connected(sandbox, xero_url, timeout_seconds=0.5)
    books = sandbox.books()
    books.reject_numbers.update(REJECTED)
    # Xero stores the batch, then the answer never arrives in time (three batches) ...
    slow = sandbox.inject("slow", times=3, method="PUT", path="^/Invoices$", seconds=1.5,
                          after=True, when=lambda n: n in (2, 7, 12))
    # ... or the connection drops after storing, or a 503 comes before anything is stored
    drop = sandbox.inject("drop", times=1, method="PUT", path="^/Invoices$", after=True,
                          when=lambda n: n == 4)
    error = sandbox.inject("status", times=1, method="PUT", path="^/Invoices$", status=503,
                           when=lambda n: n == 9)
    docs = [invoice_doc(i, organisation_id=1 + i % 40) for i in range(1, 1001)]

    final, rounds = drive(conn, docs, between_rounds=sandbox.forget_idempotency_keys)

    assert slow.fired == 3 and drop.fired == 1 and error.fired == 1
    assert rounds >= 2
    counts = Counter(o.status for o in final.values())
    assert counts == {PushStatus.synced: 997, PushStatus.rejected: 3}
    by_number = {d.number: final[d.id] for d in docs}
    for number, message in REJECTED.items():
        assert by_number[number].status is PushStatus.rejected
        assert by_number[number].message == message
    stored = Counter(i["InvoiceNumber"] for i in books.invoices.values())
    assert len(stored) == 997 and set(stored.values()) == {1}, "a duplicate reached Xero"
    assert not set(stored) & set(REJECTED)
    ids = {i["InvoiceNumber"]: i["InvoiceID"] for i in books.invoices.values()}
    assert all(by_number[n].external_id == ids[n] for n in ids)
    # the unknown outcomes were resolved by looking the invoices up by number
    lookups = [c for c in sandbox.api_calls() if c.method == "GET" and "InvoiceNumbers" in c.query]
    assert lookups
    assert len(books.contacts) == 40
    writes = [c for c in sandbox.api_calls() if c.method == "PUT"]
    assert all(c.idempotency_key and len(c.idempotency_key) <= 128 for c in writes)
    # a batch resent after a look-up is a new attempt, so it carries a new key
    assert any(c.idempotency_key.endswith("-a2") for c in writes)
    assert len({c.idempotency_key for c in writes if c.status == 200}) == \
        len([c for c in writes if c.status == 200])
    assert conn.state.get("rate_limits")["day_remaining"] < 5000


def test_retry_after_forgotten_key_without_lookup_would_duplicate(sandbox, xero_url):
    """Guard for the test above: the sandbox really stores a resent batch twice when its key
    is forgotten, so 'no duplicate' is the plugin's doing."""
    conn = connected(sandbox, xero_url, timeout_seconds=0.5)
    sandbox.inject("slow", method="PUT", path="^/Invoices$", seconds=1.5, after=True)
    [first] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    assert first.status is PushStatus.retry
    sandbox.forget_idempotency_keys()
    conn.state.set("pending:invoice:1", None)  # pretend the plugin had not kept its marker
    [second] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    assert second.status is PushStatus.synced
    assert len(sandbox.books().invoices) == 2


def test_rate_limit_is_waited_out_inline_and_long_waits_become_retry(sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    sandbox.inject("rate", method="PUT", path="^/Invoices$", seconds=1)
    [ok] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    assert ok.status is PushStatus.synced
    assert [c.status for c in sandbox.api_calls() if c.path == "/Invoices"] == [429, 200]

    conn2 = connected(sandbox, xero_url, name="xero2", max_inline_wait_seconds=0)
    sandbox.inject("rate", method="PUT", path="^/Invoices$", seconds=7)
    [later] = plugin.hub_push_invoices(connection=conn2, invoices=[invoice_doc(2)])
    assert later.status is PushStatus.retry and later.retry_after == 7
    assert conn2.state.get("pending:invoice:2") is None  # a 429 stored nothing: no look-up due
    [done] = plugin.hub_push_invoices(connection=conn2, invoices=[invoice_doc(2)])
    assert done.status is PushStatus.synced
    assert len(sandbox.books().invoices) == 2


def test_validation_error_of_whole_request_rejects_with_xeros_message(sandbox, xero_url):
    conn = connected(sandbox, xero_url, default_account_code="999")
    outcomes = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1), invoice_doc(2)])
    assert {o.status for o in outcomes} == {PushStatus.rejected}
    assert outcomes[0].message == "Account code '999' is not a valid code for this document."


def test_parallel_workers_share_one_contact_and_stay_within_five_in_flight():
    """Eight workers push invoices of one new organisation at once: one contact is created,
    every invoice synced, and the process never has more than five calls in flight."""
    import threading

    from hub_accounting_xero.sandbox import Limits, XeroSandbox

    sandbox = XeroSandbox(scale=60, limits=Limits(in_flight=5))
    sandbox.inject("slow", times=None, seconds=0.2)  # every call takes a while
    with sandbox.serve() as url:
        conn = connected(sandbox, url)
        results = []

        def push(i):
            results.extend(plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(i)]))

        threads = [threading.Thread(target=push, args=(i,)) for i in range(1, 9)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(o.status for o in results) == [PushStatus.synced] * 8
    assert len(sandbox.books().contacts) == 1
    assert not [c for c in sandbox.api_calls() if c.fault == "limit:concurrent"]
    assert not sandbox.schema_violations
