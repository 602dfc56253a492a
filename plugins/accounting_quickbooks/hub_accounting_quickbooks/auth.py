"""OAuth 2.0 for QuickBooks Online: the consent URL, the code exchange (which names the company,
``realmId``) and token refresh.

Tokens live in ``connection.state`` under :data:`TOKENS` (``secret=True``: the host encrypts
them). Intuit rotates the refresh token (keep the newest; it dies after 100 days unused), so a
refreshed pair is stored with ``compare_and_set`` against the pair that was read: of two workers
refreshing at once only one wins, and the loser takes the winner's pair.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from hub import Connection, PermanentError, TransientError

from hub_accounting_quickbooks.settings import QuickBooksSettings

__all__ = ["ConnectionRevoked", "TOKENS", "REALM", "authorize_url", "exchange_code",
           "TokenManager", "reconnect_hint", "connection_name_of_state", "realm_of"]

TOKENS = "oauth_tokens"
REALM = "realm_id"
OAUTH_STATE = "oauth_state"


class ConnectionRevoked(PermanentError):
    """The connection itself no longer works (revoked, expired, never connected): nothing can
    be pushed until the user connects again. Raised from hooks, never turned into a
    per-document rejection."""


def reconnect_hint(connection: Connection) -> str:
    """What the user runs to connect again."""
    return f"run `hub connect quickbooks {connection.name}` and approve access again"


def realm_of(connection: Connection) -> str:
    """The company every call goes to: chosen at consent, or configured."""
    realm = connection.state.get(REALM) or connection.settings.realm_id
    if not realm:
        raise ConnectionRevoked(f"QuickBooks connection {connection.name!r} is not connected "
                                "to a company yet", hint=reconnect_hint(connection))
    return realm


def authorize_url(connection: Connection, state: str | None = None) -> str:
    """The Intuit consent URL; remembers the anti-forgery ``state`` (it starts with the
    connection's name so the callback knows which connection it is for)."""
    settings: QuickBooksSettings = connection.settings  # type: ignore[assignment]
    state = state or f"{connection.name}:{secrets.token_urlsafe(16)}"
    connection.state.set(OAUTH_STATE, state)
    query = urlencode({"client_id": settings.client_id, "response_type": "code",
                       "scope": settings.scopes, "redirect_uri": settings.redirect_uri,
                       "state": state})
    return f"{settings.authorize_url}?{query}"


def connection_name_of_state(state: str) -> str:
    """The connection name an OAuth ``state`` made by :func:`authorize_url` belongs to."""
    return state.rsplit(":", 1)[0]


def _token_set(payload: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    return {"access_token": payload["access_token"], "refresh_token": payload["refresh_token"],
            "expires_at": (now + dt.timedelta(seconds=int(payload["expires_in"]))).isoformat()}


def _post_token(settings: QuickBooksSettings, http: httpx.Client,
                form: dict[str, str]) -> httpx.Response:
    try:
        return http.post(settings.token_url, data=form, headers={"Accept": "application/json"},
                         auth=(settings.client_id, settings.client_secret.get_secret_value()),
                         timeout=settings.timeout_seconds)
    except httpx.TransportError as exc:
        raise TransientError(f"Intuit token endpoint unreachable: {exc}", retry_after=5) from exc


def exchange_code(connection: Connection, http: httpx.Client, code: str, state: str,
                  realm_id: str) -> dict[str, Any]:
    """Finish the consent: check ``state``, trade ``code`` for tokens and store them with the
    company (``realmId``) Intuit named. Returns the stored token set."""
    settings: QuickBooksSettings = connection.settings  # type: ignore[assignment]
    expected = connection.state.get(OAUTH_STATE)
    if not expected or not secrets.compare_digest(str(expected), state):
        raise ConnectionRevoked("the OAuth state does not match the consent this hub started",
                                hint=reconnect_hint(connection))
    if settings.realm_id and settings.realm_id != realm_id:
        raise ConnectionRevoked(f"the consent connected company {realm_id}, but connection "
                                f"{connection.name!r} is configured for {settings.realm_id}",
                                hint=reconnect_hint(connection) + " and choose that company")
    response = _post_token(settings, http, {"grant_type": "authorization_code", "code": code,
                                            "redirect_uri": settings.redirect_uri})
    if response.status_code != 200:
        raise ConnectionRevoked(f"Intuit refused the authorisation code: {response.text}",
                                hint=reconnect_hint(connection))
    tokens = _token_set(response.json(), connection.now())
    connection.state.set(TOKENS, tokens, secret=True)
    connection.state.set(REALM, realm_id)
    connection.state.set(OAUTH_STATE, None)
    return tokens


class TokenManager:
    """Hands out a live access token, refreshing it before it expires."""

    def __init__(self, connection: Connection, http: httpx.Client) -> None:
        self.connection = connection
        self.http = http
        self.settings: QuickBooksSettings = connection.settings  # type: ignore[assignment]

    def _stored(self) -> dict[str, Any]:
        tokens = self.connection.state.get(TOKENS)
        if not tokens:
            raise ConnectionRevoked(f"QuickBooks connection {self.connection.name!r} is not "
                                    "connected yet", hint=reconnect_hint(self.connection))
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
        """Trade the refresh token for a new pair and store it with compare-and-set.

        Intuit spends a refresh token when it is used, so two workers refreshing with the same
        one would see the second refused as if the connection were revoked. The worker
        threads of one process refresh one at a time (the second then finds the first's new
        pair); a worker in another process that is refused waits a moment for the pair the
        other stores (:data:`REFRESH_SETTLE_SECONDS`) before it calls the connection revoked."""
        old = tokens or self._stored()
        with _refresh_lock(self.connection.name):
            current = self._stored()
            if current != old:
                return current  # refreshed by another thread meanwhile: the live pair
            return self._refreshed(old)

    def _refreshed(self, old: dict[str, Any]) -> dict[str, Any]:
        response = _post_token(self.settings, self.http, {
            "grant_type": "refresh_token", "refresh_token": old["refresh_token"]})
        if response.status_code >= 500:
            raise TransientError(f"Intuit token endpoint answered {response.status_code}",
                                 retry_after=30)
        if response.status_code != 200:
            current = self._stored_other_than(old)
            if current is not None:
                return current  # another worker refreshed first; its pair is the live one
            raise ConnectionRevoked(
                f"Intuit refused to refresh the tokens of connection {self.connection.name!r} "
                f"({response.text.strip()}): the connection was revoked or unused for 100 days",
                hint=reconnect_hint(self.connection))
        new = _token_set(response.json(), self.connection.now())
        if self.connection.state.compare_and_set(TOKENS, old, new, secret=True):
            return new
        return self._stored()

    def _stored_other_than(self, old: dict[str, Any]) -> dict[str, Any] | None:
        """The stored pair once it is not ``old`` (another process stored its refresh),
        waiting at most :data:`REFRESH_SETTLE_SECONDS`; ``None`` if it stays ``old``."""
        deadline = time.monotonic() + REFRESH_SETTLE_SECONDS
        while True:
            current = self.connection.state.get(TOKENS)
            if current and current != old:
                return current
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.1)


#: How long a worker whose refresh Intuit refused waits for another worker's new pair to be
#: stored before it calls the connection revoked (the other's answer and its store take
#: milliseconds; a revoked connection is refused this much later).
REFRESH_SETTLE_SECONDS = 2.0
_refresh_locks: dict[str, threading.Lock] = {}
_refresh_locks_guard = threading.Lock()


def _refresh_lock(connection: str) -> threading.Lock:
    """The lock that lets one thread of this process refresh ``connection``'s tokens at a
    time."""
    with _refresh_locks_guard:
        return _refresh_locks.setdefault(connection, threading.Lock())
