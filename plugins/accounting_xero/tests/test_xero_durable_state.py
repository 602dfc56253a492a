"""The plugin over the hub's real, database-backed connection state (SQLite): tokens stored
encrypted, and a worker that dies mid-push or mid-refresh loses nothing."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from hub import Connection, PushStatus
from hub.host.connection_state import DbConnectionState
from hub.db.engine import session_scope
from hub.db.models import ConnectionStateEntry
from hub.host.secrets import SecretBox

from hub_accounting_xero import plugin
from hub_accounting_xero.auth import TOKENS, TokenManager
from hub_accounting_xero.testing import connected, invoice_doc

BOX = SecretBox(Fernet.generate_key())


class DyingState(DbConnectionState):
    """A worker killed right after Xero answered the refresh, before the store."""

    die = False

    def compare_and_set(self, key, expected, value, *, secret=False):
        if self.die:
            raise SystemExit("worker killed")
        return super().compare_and_set(key, expected, value, secret=secret)


def worker(engine, first: Connection, **kw) -> Connection:
    """The same connection as a fresh worker process sees it: state from the database only."""
    return Connection(name=first.name, plugin="xero", settings=first.settings,
                      state=DbConnectionState(engine, first.name, BOX), **kw)


def test_tokens_are_encrypted_at_rest(sandbox, xero_url, hub_engine):
    conn = connected(sandbox, xero_url, state=DbConnectionState(hub_engine, "xero", BOX))
    refresh_token = conn.state.get(TOKENS)["refresh_token"]
    with session_scope(hub_engine) as session:
        row = session.execute(select(ConnectionStateEntry).where(
            ConnectionStateEntry.key == TOKENS)).scalar_one()
        assert row.secret and refresh_token not in row.value


def test_worker_dying_after_a_lost_answer_leaves_no_duplicate(sandbox, xero_url, hub_engine):
    first = connected(sandbox, xero_url, timeout_seconds=0.5,
                      state=DbConnectionState(hub_engine, "xero", BOX))
    sandbox.inject("slow", method="PUT", path="^/Invoices$", seconds=1.5, after=True)
    docs = [invoice_doc(i) for i in range(1, 61)]  # two batches; the first answer is lost
    outcomes = plugin.hub_push_invoices(connection=first, invoices=docs)
    assert Counter(o.status for o in outcomes) == {PushStatus.retry: 50, PushStatus.synced: 10}
    sandbox.forget_idempotency_keys()
    later = worker(hub_engine, first)
    outcomes = plugin.hub_push_invoices(connection=later, invoices=docs)
    assert {o.status for o in outcomes} == {PushStatus.synced}
    stored = Counter(i["InvoiceNumber"] for i in sandbox.books().invoices.values())
    assert len(stored) == 60 and set(stored.values()) == {1}


def test_crash_between_refresh_and_store_with_database_state(sandbox, xero_url, hub_engine):
    now = [dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)]
    clock = lambda: now[0]  # noqa: E731 - a tiny controllable clock
    dying = DyingState(hub_engine, "xero", BOX)
    conn = connected(sandbox, xero_url, state=dying, clock=clock)
    before = conn.state.get(TOKENS)
    now[0] += dt.timedelta(minutes=30)
    dying.die = True
    with httpx.Client() as http, pytest.raises(SystemExit):
        TokenManager(conn, http).access_token()
    later = worker(hub_engine, conn, clock=clock)
    assert later.state.get(TOKENS) == before
    [outcome] = plugin.hub_push_invoices(connection=later, invoices=[invoice_doc(1)])
    assert outcome.status is PushStatus.synced
    assert later.state.get(TOKENS)["refresh_token"] != before["refresh_token"]
