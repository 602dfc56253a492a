"""Refreshing the OAuth tokens from several workers at once: Intuit spends a refresh token when
it is used, so a second worker refreshing with the same one is refused. That refusal must not
be taken for a revoked connection (a thousand-invoice run under load failed 30 invoices so)."""

from __future__ import annotations

import threading
import time

import httpx

from hub import MemoryState
from hub_accounting_quickbooks.auth import TOKENS, TokenManager
from hub_accounting_quickbooks.testing import connected


class SlowStores(MemoryState):
    """A connection state whose compare-and-set takes a while, as a busy database does."""

    def compare_and_set(self, key, expected, value, *, secret=False):
        time.sleep(0.3)
        return super().compare_and_set(key, expected, value, secret=secret)


def _refresh_at_once(managers, old) -> tuple[list, list]:
    """Each manager refreshes ``old`` in its own thread, all released together."""
    start = threading.Barrier(len(managers))
    answers, errors = [], []

    def refresh(manager):
        start.wait()
        try:
            answers.append(manager.refresh(old))
        except Exception as exc:  # noqa: BLE001 (collected for the assertion)
            errors.append(exc)

    threads = [threading.Thread(target=refresh, args=(m,)) for m in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, errors


def test_threads_refreshing_at_once_share_one_new_pair(sandbox, qbo_url):
    connection = connected(sandbox, qbo_url, state=SlowStores())
    old = connection.state.get(TOKENS)
    with httpx.Client() as http:
        managers = [TokenManager(connection, http) for _ in range(3)]
        calls = sandbox.token_calls
        answers, errors = _refresh_at_once(managers, old)
    assert errors == []
    assert len({a["refresh_token"] for a in answers}) == 1 and answers[0] != old
    assert sandbox.token_calls == calls + 1  # one refresh; the others took its pair
    assert connection.state.get(TOKENS) == answers[0]


def test_a_worker_refused_waits_for_the_pair_another_process_stores(sandbox, qbo_url):
    connection = connected(sandbox, qbo_url)
    old = connection.state.get(TOKENS)
    with httpx.Client() as http:
        other = TokenManager(connection, http).refresh(old)  # "another process" refreshed...
        connection.state.set(TOKENS, old, secret=True)  # ...and has not stored its pair yet
        later = threading.Timer(0.3, lambda: connection.state.set(TOKENS, other, secret=True))
        later.start()
        try:
            # this worker's refresh with the spent token is refused; the pair arrives meanwhile
            assert TokenManager(connection, http)._refreshed(old) == other
        finally:
            later.cancel()
