"""OAuth2 against the sandbox: consent, refresh before expiry, rotation, a crash between
refresh and store, concurrent refreshers, revocation and tenant choice."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from hub import MemoryState, PushStatus

from hub_accounting_xero import plugin
from hub_accounting_xero.auth import (
    TENANT, TOKENS, ConnectionRevoked, TokenManager, authorize_url,
)
from hub_accounting_xero.sandbox.identity import REFRESH_GRACE_SECONDS
from hub_accounting_xero.testing import connected, invoice_doc


class Clock:
    """A controllable connection clock."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


class CrashingState(MemoryState):
    """State whose next compare_and_set dies, as a worker killed right after Xero answered."""

    crash = False

    def compare_and_set(self, key, expected, value, *, secret=False):
        if self.crash:
            self.crash = False
            raise SystemExit("worker killed between refresh and store")
        return super().compare_and_set(key, expected, value, secret=secret)


def test_authorise_url_carries_client_redirect_scope_and_state(sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    url = urlparse(authorize_url(conn, state="s1"))
    query = parse_qs(url.query)
    assert url.path == "/identity/connect/authorize"
    assert query["client_id"] == [sandbox.client_id] and query["state"] == ["s1"]
    assert "offline_access" in query["scope"][0] and query["response_type"] == ["code"]
    assert conn.state.get(TENANT) == sandbox.tenant.tenant_id
    assert set(conn.state.get(TOKENS)) == {"access_token", "refresh_token", "expires_at"}


def test_token_is_refreshed_before_expiry_and_refresh_token_rotates(sandbox, xero_url):
    clock = Clock()
    conn = connected(sandbox, xero_url, clock=clock)
    first = conn.state.get(TOKENS)
    with httpx.Client() as http:
        manager = TokenManager(conn, http)
        assert manager.access_token() == first["access_token"]
        clock.advance(1800 - 100)  # inside the 120 s margin
        token = manager.access_token()
    second = conn.state.get(TOKENS)
    assert token == second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    # Xero keeps the used refresh token only for a grace period; afterwards only the new works
    sandbox.clock.advance(REFRESH_GRACE_SECONDS + 1)
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    status, body = sandbox.identity.token(None, {**form, "client_id": sandbox.client_id,
                                                 "client_secret": sandbox.client_secret})
    assert (status, body) == (400, {"error": "invalid_grant"})
    [outcome] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    assert outcome.status is PushStatus.synced


def test_crash_between_refresh_and_store_does_not_strand_the_connection(sandbox, xero_url):
    clock = Clock()
    state = CrashingState()
    conn = connected(sandbox, xero_url, clock=clock, state=state)
    before = state.get(TOKENS)
    clock.advance(1800)
    state.crash = True
    with httpx.Client() as http, pytest.raises(SystemExit):
        TokenManager(conn, http).access_token()
    assert state.get(TOKENS) == before  # nothing half-written: the previous pair is intact
    # the next worker refreshes with the previous refresh token (inside Xero's grace period)
    [outcome] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    assert outcome.status is PushStatus.synced
    after = state.get(TOKENS)
    assert after["refresh_token"] != before["refresh_token"]
    sandbox.clock.advance(REFRESH_GRACE_SECONDS + 1)
    clock.advance(1800)
    [outcome] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(2)])
    assert outcome.status is PushStatus.synced  # the stored (rotated) token keeps working


def test_two_workers_refreshing_at_once_keep_the_winners_tokens(sandbox, xero_url):
    clock = Clock()
    conn = connected(sandbox, xero_url, clock=clock)
    old = conn.state.get(TOKENS)
    with httpx.Client() as http:
        a, b = TokenManager(conn, http), TokenManager(conn, http)
        won = a.refresh(old)
        lost = b.refresh(old)  # read the same pair before a stored; its CAS must fail
    assert lost == won == conn.state.get(TOKENS)
    sandbox.clock.advance(REFRESH_GRACE_SECONDS + 1)
    clock.advance(1800)
    [outcome] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    assert outcome.status is PushStatus.synced


def test_revoked_connection_is_reported_with_a_hint_to_reconnect(sandbox, xero_url):
    conn = connected(sandbox, xero_url, name="acme-xero")
    sandbox.identity.revoke_app()
    with pytest.raises(ConnectionRevoked) as info:
        plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    assert "hub connect xero acme-xero" in info.value.user_message()
    assert not sandbox.books().invoices


def test_several_organisations_need_a_tenant_id(sandbox, xero_url):
    other = sandbox.identity.add_tenant("Second Org")
    with pytest.raises(ConnectionRevoked) as info:
        connected(sandbox, xero_url)
    assert "tenant_id" in info.value.user_message() and other.tenant_id in str(info.value)
    conn = connected(sandbox, xero_url, tenant_id=other.tenant_id)
    [outcome] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    assert outcome.status is PushStatus.synced
    assert sandbox.books(other.tenant_id).invoices and not sandbox.books().invoices


def test_consent_with_forged_state_is_refused(sandbox, xero_url):
    from hub_accounting_xero.auth import exchange_code

    conn = connected(sandbox, xero_url)
    authorize_url(conn)
    code = sandbox.identity.issue_code(sandbox.client_id, conn.settings.redirect_uri)
    with httpx.Client() as http, pytest.raises(ConnectionRevoked, match="state"):
        exchange_code(conn, http, code, "forged")
