"""Pushing under failure: rejections, lost answers (timeouts, dropped connections), 5xx, 429.

The hook is driven the way a retrying job drives it: push, then push again only the documents
whose outcome was ``retry``, until none is left; between rounds Intuit forgets its requestids
(it never promises to keep them), so only the plugin's own record and its look-up by DocNumber
stand between a lost answer and a duplicate.
"""

from __future__ import annotations

from collections import Counter

from hub import PushStatus

from hub_accounting_quickbooks import plugin
from hub_accounting_quickbooks.testing import connected, invoice_doc, line

REJECTED = {
    "INV-00017": ("6000", "A business validation error has occurred while processing your "
                          "request: Business Validation Error: Customer is inactive."),
    "INV-00500": ("6210", "Account Period Closed: The account period has closed and cannot be "
                          "updated."),
    "INV-00999": ("6140", "Duplicate Document Number Error: DocNumber=INV-00999 is assigned "
                          "to TxnType=Invoice with TxnId=1"),
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


def test_thousand_invoices_with_rejections_and_lost_answers_exist_once(sandbox, qbo_url):
    conn = connected(sandbox, qbo_url, timeout_seconds=0.5)
    books = sandbox.books()
    books.reject_numbers.update(REJECTED)
    # QuickBooks stores the batch, then the answer never arrives in time (three batches) ...
    slow = sandbox.inject("slow", times=3, method="POST", path="^/batch$", seconds=1.5,
                          after=True, when=lambda n: n in (5, 11, 17))
    # ... or the connection drops after storing, or a 503 comes before anything is stored
    drop = sandbox.inject("drop", times=1, method="POST", path="^/batch$", after=True,
                          when=lambda n: n == 8)
    error = sandbox.inject("status", times=1, method="POST", path="^/batch$", status=503,
                           when=lambda n: n == 14)
    docs = [invoice_doc(i, organisation_id=1 + i % 40,
                        lines=(line(tax_rate="20"), line(description="Backup", quantity="1",
                                                         unit_price="9.99")))
            for i in range(1, 1001)]

    final, rounds = drive(conn, docs, between_rounds=sandbox.forget_request_ids)

    assert slow.fired == 3 and drop.fired == 1 and error.fired == 1
    assert rounds >= 2
    counts = Counter(o.status for o in final.values())
    assert counts == {PushStatus.synced: 997, PushStatus.rejected: 3}
    by_number = {d.number: final[d.id] for d in docs}
    for number, (_, message) in REJECTED.items():
        assert by_number[number].status is PushStatus.rejected
        assert by_number[number].message == message  # QuickBooks' own words
    stored = Counter(i["DocNumber"] for i in books.invoices().values())
    assert len(stored) == 997 and set(stored.values()) == {1}, "a duplicate reached QuickBooks"
    assert not set(stored) & set(REJECTED)
    ids = {i["DocNumber"]: i["Id"] for i in books.invoices().values()}
    assert all(by_number[n].external_id == ids[n] for n in ids)
    assert len(books.customers()) == 40
    # the unknown outcomes were resolved by looking the invoices up by DocNumber
    assert any("DocNumber in" in str(c.query) or c.path == "/batch" for c in sandbox.api_calls())
    batches = [c for c in sandbox.api_calls() if c.path == "/batch" and c.method == "POST"]
    assert all(len(c.query["requestid"]) <= 36 for c in batches)
    assert all(c.query["minorversion"] == "75" for c in sandbox.api_calls())


def test_lost_marker_and_forgotten_requestid_still_make_no_duplicate(sandbox, qbo_url):
    """The last line of defence: the plugin lost its marker *and* Intuit forgot the requestid.
    QuickBooks answers 6140 for the number; the plugin finds its own invoice by DocNumber."""
    conn = connected(sandbox, qbo_url, timeout_seconds=0.5)
    sandbox.inject("slow", method="POST", path="^/batch$", seconds=1.5, after=True,
                   when=lambda n: n == 3)  # the invoices' batch (after tax codes, customers)
    [first] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    assert first.status is PushStatus.retry
    sandbox.forget_request_ids()
    conn.state.set("pending:invoice:1", None)  # pretend the marker was never written
    [second] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    assert second.status is PushStatus.synced
    [stored] = sandbox.books().invoices().values()
    assert second.external_id == stored["Id"]


def test_throttle_is_waited_out_inline_and_long_waits_become_retry(sandbox, qbo_url):
    conn = connected(sandbox, qbo_url)
    sandbox.inject("rate", method="POST", path="^/batch$", seconds=1, when=lambda n: n == 3)
    [ok] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    assert ok.status is PushStatus.synced
    # tax codes, customer look-up, customer create (throttled, then sent again), invoices
    assert [c.status for c in sandbox.api_calls() if c.path == "/batch"] == [200, 200, 429, 200,
                                                                              200]

    conn2 = connected(sandbox, qbo_url, name="qbo2", max_inline_wait_seconds=0)
    sandbox.inject("rate", method="POST", path="^/batch$", seconds=7)
    [later] = plugin.hub_push_invoices(connection=conn2, invoices=[invoice_doc(2)])
    assert later.status is PushStatus.retry and later.retry_after == 7
    [done] = plugin.hub_push_invoices(connection=conn2, invoices=[invoice_doc(2)])
    assert done.status is PushStatus.synced
    assert len(sandbox.books().invoices()) == 2


def test_expired_access_token_is_refreshed_and_rotated(sandbox, qbo_url):
    conn = connected(sandbox, qbo_url)
    before = conn.state.get("oauth_tokens")
    sandbox.revoke_access_tokens()
    [ok] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    assert ok.status is PushStatus.synced
    after = conn.state.get("oauth_tokens")
    assert after["refresh_token"] != before["refresh_token"]  # rotated, newest kept
