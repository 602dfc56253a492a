"""OAuth2 for Xero: the consent URL, the code exchange, tenant choice and token refresh.

Tokens live in ``connection.state`` under :data:`TOKENS` (stored with ``secret=True`` so the
host encrypts them). Xero rotates the refresh token on every refresh, so the new pair is written
with ``compare_and_set`` against the pair that was read:

- two workers refreshing at once cannot both win: the loser drops its pair and uses the
  winner's (the winner's refresh token is the one Xero now expects);
- a crash after Xero answered but before the store leaves the *previous* pair in state. Xero
  keeps a used refresh token valid for a 30-minute grace period, and the stored access token is
  already due for refresh, so the very next call refreshes again with the previous token and the
  connection recovers. Nothing is written before the store, so no half-state exists.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx

from hub import Connection, PermanentError, TransientError

from hub_accounting_xero.settings import XeroSettings

__all__ = ["ConnectionRevoked", "connection_name_of_state", "TOKENS", "TENANT", "authorize_url", "exchange_code", "TokenManager", "choose_tenant",
           "reconnect_hint"]

TOKENS = "oauth_tokens"
TENANT = "tenant_id"
OAUTH_STATE = "oauth_state"


class ConnectionRevoked(PermanentError):
    """The connection itself no longer works (revoked, expired, never connected): nothing can
    be pushed until the user connects again. Raised from hooks, never turned into a
    per-document rejection."""


def reconnect_hint(connection: Connection) -> str:
    """What the user runs to connect again."""
    return f"run `hub connect xero {connection.name}` and approve access again"


def authorize_url(connection: Connection, state: str | None = None) -> str:
    """The Xero consent URL for ``connection``; remembers the anti-forgery ``state``, which
    starts with the connection's name so the callback knows which connection it is for."""
    settings: XeroSettings = connection.settings  # type: ignore[assignment]
    state = state or f"{connection.name}:{secrets.token_urlsafe(16)}"
    connection.state.set(OAUTH_STATE, state)
    query = urlencode({"response_type": "code", "client_id": settings.client_id,
                       "redirect_uri": settings.redirect_uri, "scope": settings.scopes,
                       "state": state})
    return f"{settings.authorize_url}?{query}"


def connection_name_of_state(state: str) -> str:
    """The connection name an OAuth ``state`` made by :func:`authorize_url` belongs to."""
    return state.rsplit(":", 1)[0]


def _token_set(payload: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    return {"access_token": payload["access_token"], "refresh_token": payload["refresh_token"],
            "expires_at": (now + dt.timedelta(seconds=int(payload["expires_in"]))).isoformat()}


def _post_token(settings: XeroSettings, http: httpx.Client, form: dict[str, str]) -> httpx.Response:
    try:
        return http.post(settings.identity_url.rstrip("/") + "/connect/token", data=form,
                         auth=(settings.client_id, settings.client_secret.get_secret_value()),
                         timeout=settings.timeout_seconds)
    except httpx.TransportError as exc:
        raise TransientError(f"Xero token endpoint unreachable: {exc}", retry_after=5) from exc


def exchange_code(connection: Connection, http: httpx.Client, code: str, state: str) -> dict:
    """Finish the consent: check ``state``, trade ``code`` for tokens, store them, then choose
    the tenant through /connections. Returns the stored token set."""
    settings: XeroSettings = connection.settings  # type: ignore[assignment]
    expected = connection.state.get(OAUTH_STATE)
    if not expected or not secrets.compare_digest(str(expected), state):
        raise ConnectionRevoked("the OAuth state does not match the consent this hub started",
                             hint=reconnect_hint(connection))
    response = _post_token(settings, http, {"grant_type": "authorization_code", "code": code,
                                            "redirect_uri": settings.redirect_uri})
    if response.status_code != 200:
        raise ConnectionRevoked(f"Xero refused the authorisation code: {response.text}",
                             hint=reconnect_hint(connection))
    tokens = _token_set(response.json(), connection.now())
    connection.state.set(TOKENS, tokens, secret=True)
    connection.state.set(OAUTH_STATE, None)
    choose_tenant(connection, http, tokens["access_token"])
    return tokens


def choose_tenant(connection: Connection, http: httpx.Client, access_token: str) -> str:
    """Pick the Xero organisation from /connections: the configured ``tenant_id`` when set
    (it must still be connected), else the only one connected. Stores and returns it."""
    settings: XeroSettings = connection.settings  # type: ignore[assignment]
    try:
        response = http.get(settings.connections_endpoint(),
                            headers={"Authorization": f"Bearer {access_token}"},
                            timeout=settings.timeout_seconds)
    except httpx.TransportError as exc:
        raise TransientError(f"Xero /connections unreachable: {exc}", retry_after=5) from exc
    if response.status_code in (401, 403):
        raise ConnectionRevoked(f"Xero connection {connection.name!r} was revoked",
                             hint=reconnect_hint(connection))
    response.raise_for_status()
    tenants = {t["tenantId"]: t.get("tenantName", "") for t in response.json()
               if t.get("tenantType", "ORGANISATION") == "ORGANISATION"}
    wanted = settings.tenant_id
    if wanted:
        if wanted not in tenants:
            raise ConnectionRevoked(
                f"Xero organisation {wanted} is no longer connected to {connection.name!r}",
                hint=reconnect_hint(connection) + " and tick that organisation")
        chosen = wanted
    elif len(tenants) == 1:
        chosen = next(iter(tenants))
    else:
        listing = ", ".join(f"{tid} ({name})" for tid, name in tenants.items()) or "none"
        raise ConnectionRevoked(f"{len(tenants)} Xero organisations are connected: {listing}",
                             hint=f"set tenant_id in the settings of connection "
                                  f"{connection.name!r} to one of them")
    connection.state.set(TENANT, chosen)
    return chosen


class TokenManager:
    """Hands out a live access token, refreshing it before it expires."""

    def __init__(self, connection: Connection, http: httpx.Client) -> None:
        self.connection = connection
        self.http = http
        self.settings: XeroSettings = connection.settings  # type: ignore[assignment]

    def _stored(self) -> dict[str, Any]:
        tokens = self.connection.state.get(TOKENS)
        if not tokens:
            raise ConnectionRevoked(f"Xero connection {self.connection.name!r} is not connected yet",
                                 hint=reconnect_hint(self.connection))
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
        """Trade the refresh token for a new pair and store it with compare-and-set."""
        old = tokens or self._stored()
        response = _post_token(self.settings, self.http, {
            "grant_type": "refresh_token", "refresh_token": old["refresh_token"]})
        if response.status_code >= 500:
            raise TransientError(f"Xero token endpoint answered {response.status_code}",
                                 retry_after=30)
        if response.status_code != 200:
            current = self.connection.state.get(TOKENS)
            if current and current != old:
                return current  # another worker refreshed first; its pair is the live one
            raise ConnectionRevoked(
                f"Xero refused to refresh the tokens of connection {self.connection.name!r} "
                f"({response.text.strip()}): the connection was revoked or unused for 60 days",
                hint=reconnect_hint(self.connection))
        new = _token_set(response.json(), self.connection.now())
        if self.connection.state.compare_and_set(TOKENS, old, new, secret=True):
            return new
        # lost the race: the winner's refresh token is the one Xero expects now
        return self._stored()
