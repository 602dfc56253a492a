"""hub.contract.oauth, the OAuth 2.0 token handling the Xero and QuickBooks plugins share,
against a token endpoint that rotates refresh tokens and spends each one when it is used (as
Intuit does): one refresh per connection however many threads ask at once, a refused worker
that takes another's pair, and a revoked connection reported with the plugin's hint."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time

import httpx
import pytest
from pydantic import BaseModel, SecretStr

from hub import Connection, ConnectionRevoked, MemoryState, OAuthProvider, RotatingTokens, oauth

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)


class _Settings(BaseModel):
    client_id: str = "client"
    client_secret: SecretStr = SecretStr("secret")
    timeout_seconds: float = 5
    refresh_margin_seconds: int = 120


class SpendingTokenEndpoint:
    """A token endpoint that accepts each refresh token once, then refuses it."""

    def __init__(self) -> None:
        self.live = "refresh-0"
        self.calls = 0
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        assert request.headers["authorization"].startswith("Basic ")
        with self._lock:
            self.calls += 1
            if form.get("refresh_token") != self.live:
                return httpx.Response(400, json={"error": "invalid_grant"})
            number = next(self._numbers)
            self.live = f"refresh-{number}"
        time.sleep(0.05)  # the answer takes a while: the threads overlap
        return httpx.Response(200, json={"access_token": f"access-{number}",
                                         "refresh_token": self.live, "expires_in": 3600})


def _provider(settle_seconds: float = 0.0) -> OAuthProvider:
    return OAuthProvider(product="Books", command="books", issuer="Books Inc",
                         token_url="https://books.test/token", unused_days=90,
                         settle_seconds=settle_seconds)


def _connection() -> Connection:
    state = MemoryState()
    state.set(oauth.TOKENS, {"access_token": "access-0", "refresh_token": "refresh-0",
                             "expires_at": NOW.isoformat()}, secret=True)  # due for refresh
    return Connection(name="acme-books", plugin="books", settings=_Settings(), state=state,
                      clock=lambda: NOW)


def test_threads_of_a_process_refresh_a_connection_once():
    endpoint, connection = SpendingTokenEndpoint(), _connection()
    start, tokens, errors = threading.Barrier(4), [], []

    def ask(http):
        start.wait()
        try:
            tokens.append(RotatingTokens(connection, http, _provider()).access_token())
        except ConnectionRevoked as exc:  # collected for the assertion
            errors.append(exc)

    with httpx.Client(transport=httpx.MockTransport(endpoint)) as http:
        threads = [threading.Thread(target=ask, args=(http,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == [] and tokens == ["access-1"] * 4
    assert endpoint.calls == 1
    assert connection.state.get(oauth.TOKENS)["refresh_token"] == "refresh-1" == endpoint.live


def test_a_refused_worker_takes_the_pair_another_process_stores_meanwhile():
    endpoint, connection = SpendingTokenEndpoint(), _connection()
    old = connection.state.get(oauth.TOKENS)
    other = {"access_token": "access-9", "refresh_token": "refresh-9",
             "expires_at": (NOW + dt.timedelta(hours=1)).isoformat()}
    endpoint.live = "refresh-9"  # another process spent refresh-0 and has not stored yet
    later = threading.Timer(0.3, lambda: connection.state.set(oauth.TOKENS, other, secret=True))
    later.start()
    try:
        with httpx.Client(transport=httpx.MockTransport(endpoint)) as http:
            assert RotatingTokens(connection, http, _provider(settle_seconds=2)).refresh(old) \
                == other
    finally:
        later.cancel()


def test_a_revoked_connection_is_reported_with_the_plugins_hint():
    endpoint, connection = SpendingTokenEndpoint(), _connection()
    endpoint.live = "revoked"
    with httpx.Client(transport=httpx.MockTransport(endpoint)) as http, \
            pytest.raises(ConnectionRevoked) as refused:
        RotatingTokens(connection, http, _provider()).access_token()
    message = refused.value.user_message()
    assert "Books Inc refused to refresh the tokens of connection 'acme-books'" in message
    assert "unused for 90 days" in message and "hub connect books acme-books" in message


def test_a_consent_callback_must_bring_back_the_state_it_was_sent():
    connection = _connection()
    state = oauth.new_consent_state(connection)
    assert oauth.connection_name_of_state(state) == "acme-books"
    with pytest.raises(ConnectionRevoked, match="state"):
        oauth.check_consent_state(connection, state + "x", hint="connect again")
    oauth.check_consent_state(connection, state, hint="connect again")
