"""OAuth 2.0 for connectors whose provider rotates refresh tokens (Xero, Intuit's QuickBooks
Online): the consent's anti-forgery ``state``, the token set a connection keeps, and
:class:`RotatingTokens`, which hands out a live access token and refreshes it safely when many
workers share one connection.

Tokens live in ``connection.state`` under :data:`TOKENS` (stored with ``secret=True``, so the
host encrypts them). A provider that rotates refresh tokens answers a refresh with a new pair
and stops accepting the old refresh token (Intuit at once, Xero after a grace period), so:

- the new pair is stored with ``compare_and_set`` against the pair that was read: of two
  workers refreshing at once only one wins, and the loser takes the winner's pair;
- the worker threads of one process refresh one connection one at a time, and the next one
  finds the new pair instead of spending the old refresh token again;
- where the provider refuses a spent refresh token at once (Intuit), a worker of another
  process whose refresh is refused waits up to :attr:`OAuthProvider.settle_seconds` for the
  pair the other process stores before it calls the connection revoked;
- a crash after the provider answered but before the store leaves the previous pair; where the
  provider keeps it valid for a while (Xero: 30 minutes) the next call refreshes again with it.

Nothing here is provider-specific: a plugin describes its provider with an
:class:`OAuthProvider` (its names, token endpoint, how long an unused refresh token lives).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from hub.contract.connections import Connection
from hub.errors import PermanentError, TransientError

__all__ = ["ConnectionRevoked", "OAuthProvider", "RotatingTokens", "TOKENS", "OAUTH_STATE",
           "new_consent_state", "check_consent_state", "connection_name_of_state", "token_set",
           "post_token"]

#: The key of a connection's token set in its state.
TOKENS = "oauth_tokens"
#: The key of the consent's anti-forgery ``state`` while a consent is under way.
OAUTH_STATE = "oauth_state"

class ConnectionRevoked(PermanentError):
    """The connection itself no longer works (revoked, expired, never connected): nothing can
    be pushed until the user connects again. Raised from hooks, never turned into a
    per-document rejection."""


@dataclass(frozen=True)
class OAuthProvider:
    """What differs between providers: names for messages, the token endpoint, and how long an
    unused refresh token lives."""

    #: the product as users name it ("Xero", "QuickBooks")
    product: str
    #: the plugin's ``hub connect`` command ("xero", "quickbooks")
    command: str
    #: who answers the token endpoint ("Xero", "Intuit")
    issuer: str
    token_url: str
    #: days after which an unused refresh token dies (said when a refresh is refused)
    unused_days: int
    #: extra headers the token endpoint is sent
    token_headers: dict[str, str] = field(default_factory=dict)
    #: How long a worker whose refresh was refused waits for another process's new pair to be
    #: stored before it calls the connection revoked. Needed where a spent refresh token is
    #: refused at once (Intuit: the other's answer and its store take milliseconds, and a
    #: truly revoked connection is reported this much later); 0 where the provider keeps it
    #: valid for a grace period (Xero), since a refusal there means revoked.
    settle_seconds: float = 0.0

    def reconnect_hint(self, connection: Connection) -> str:
        """What the user runs to connect again."""
        return f"run `hub connect {self.command} {connection.name}` and approve access again"


def new_consent_state(connection: Connection, state: str | None = None) -> str:
    """The anti-forgery ``state`` of a consent URL (``state``, or a fresh one), remembered by
    the connection; a fresh one starts with the connection's name so the callback knows which
    connection it is for."""
    state = state or f"{connection.name}:{secrets.token_urlsafe(16)}"
    connection.state.set(OAUTH_STATE, state)
    return state


def check_consent_state(connection: Connection, state: str, hint: str) -> None:
    """Refuse a callback whose ``state`` is not the one this hub's consent started."""
    expected = connection.state.get(OAUTH_STATE)
    if not expected or not secrets.compare_digest(str(expected), state):
        raise ConnectionRevoked("the OAuth state does not match the consent this hub started",
                                hint=hint)


def connection_name_of_state(state: str) -> str:
    """The connection name a ``state`` made by :func:`new_consent_state` belongs to."""
    return state.rsplit(":", 1)[0]


def token_set(payload: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """The token set a connection keeps, from a token endpoint's answer received at ``now``."""
    return {"access_token": payload["access_token"], "refresh_token": payload["refresh_token"],
            "expires_at": (now + dt.timedelta(seconds=int(payload["expires_in"]))).isoformat()}


def post_token(provider: OAuthProvider, settings: Any, http: httpx.Client,
               form: dict[str, str]) -> httpx.Response:
    """POST ``form`` to the token endpoint with the client's credentials (HTTP basic);
    ``settings`` has ``client_id``, ``client_secret`` and ``timeout_seconds``."""
    try:
        return http.post(provider.token_url, data=form, headers=provider.token_headers,
                         auth=(settings.client_id, settings.client_secret.get_secret_value()),
                         timeout=settings.timeout_seconds)
    except httpx.TransportError as exc:
        raise TransientError(f"{provider.issuer} token endpoint unreachable: {exc}",
                             retry_after=5) from exc


class RotatingTokens:
    """Hands out a live access token of ``connection``, refreshing it before it expires (see
    the module docstring). ``connection.settings`` has ``client_id``, ``client_secret``,
    ``timeout_seconds`` and ``refresh_margin_seconds``."""

    def __init__(self, connection: Connection, http: httpx.Client,
                 provider: OAuthProvider) -> None:
        self.connection = connection
        self.http = http
        self.provider = provider
        self.settings = connection.settings

    def _stored(self) -> dict[str, Any]:
        tokens = self.connection.state.get(TOKENS)
        if not tokens:
            raise ConnectionRevoked(
                f"{self.provider.product} connection {self.connection.name!r} is not "
                "connected yet", hint=self.provider.reconnect_hint(self.connection))
        return tokens

    def access_token(self) -> str:
        """A token valid for at least ``refresh_margin_seconds`` more."""
        tokens = self._stored()
        expires = dt.datetime.fromisoformat(tokens["expires_at"])
        margin = dt.timedelta(seconds=self.settings.refresh_margin_seconds)
        if expires - self.connection.now() > margin:
            return tokens["access_token"]
        return self.refresh(tokens)["access_token"]

    def refresh(self, tokens: dict[str, Any] | None = None) -> dict[str, Any]:
        """Trade the refresh token for a new pair and store it with compare-and-set; the
        threads of this process refresh one connection one at a time, and one that finds a
        pair other than the one it meant to refresh takes that live pair instead."""
        old = tokens or self._stored()
        with _refresh_lock(self.connection.name):
            current = self._stored()
            if current != old:
                return current  # refreshed by another thread meanwhile: the live pair
            return self._refreshed(old)

    def _refreshed(self, old: dict[str, Any]) -> dict[str, Any]:
        provider = self.provider
        response = post_token(provider, self.settings, self.http, {
            "grant_type": "refresh_token", "refresh_token": old["refresh_token"]})
        if response.status_code >= 500:
            raise TransientError(f"{provider.issuer} token endpoint answered "
                                 f"{response.status_code}", retry_after=30)
        if response.status_code != 200:
            current = self._stored_other_than(old)
            if current is not None:
                return current  # another worker refreshed first; its pair is the live one
            raise ConnectionRevoked(
                f"{provider.issuer} refused to refresh the tokens of connection "
                f"{self.connection.name!r} ({response.text.strip()}): the connection was "
                f"revoked or unused for {provider.unused_days} days",
                hint=provider.reconnect_hint(self.connection))
        new = token_set(response.json(), self.connection.now())
        if self.connection.state.compare_and_set(TOKENS, old, new, secret=True):
            return new
        # lost the race: the winner's refresh token is the one the provider expects now
        return self._stored()

    def _stored_other_than(self, old: dict[str, Any]) -> dict[str, Any] | None:
        """The stored pair once it is not ``old`` (another process stored its refresh),
        waiting at most the provider's ``settle_seconds``; ``None`` if it stays ``old``."""
        deadline = time.monotonic() + self.provider.settle_seconds
        while True:
            current = self.connection.state.get(TOKENS)
            if current and current != old:
                return current
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.1)


_refresh_locks: dict[str, threading.Lock] = {}
_refresh_locks_guard = threading.Lock()


def _refresh_lock(connection: str) -> threading.Lock:
    """The lock that lets one thread of this process refresh ``connection``'s tokens at a
    time."""
    with _refresh_locks_guard:
        return _refresh_locks.setdefault(connection, threading.Lock())
