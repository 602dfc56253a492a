"""OAuth2 for Xero: the consent URL, the code exchange, tenant choice and token refresh.

Tokens live in ``connection.state`` under :data:`TOKENS` (stored with ``secret=True`` so the
host encrypts them). Xero rotates the refresh token on every refresh;
:class:`hub.contract.oauth.RotatingTokens` stores the new pair with ``compare_and_set`` against
the pair that was read:

- two workers refreshing at once cannot both win: the loser drops its pair and uses the
  winner's (the winner's refresh token is the one Xero now expects);
- a crash after Xero answered but before the store leaves the *previous* pair in state. Xero
  keeps a used refresh token valid for a 30-minute grace period, and the stored access token is
  already due for refresh, so the very next call refreshes again with the previous token and the
  connection recovers. Nothing is written before the store, so no half-state exists.
"""

from __future__ import annotations

from urllib.parse import urlencode

import httpx

from hub import (
    Connection, ConnectionRevoked, OAuthProvider, RotatingTokens, TransientError, oauth,
)

from hub_accounting_xero.settings import XeroSettings

__all__ = ["ConnectionRevoked", "connection_name_of_state", "TOKENS", "TENANT", "authorize_url",
           "exchange_code", "TokenManager", "choose_tenant", "reconnect_hint"]

TENANT = "tenant_id"

#: The key of the token set in the connection's state (:mod:`hub.contract.oauth`).
TOKENS = oauth.TOKENS
connection_name_of_state = oauth.connection_name_of_state

def _provider(settings: XeroSettings) -> OAuthProvider:
    # Xero keeps a spent refresh token valid for a grace period, so a refusal means revoked:
    # no waiting for another worker's pair (settle_seconds 0).
    return OAuthProvider(product="Xero", command="xero", issuer="Xero",
                         token_url=settings.identity_url.rstrip("/") + "/connect/token",
                         unused_days=60)


def reconnect_hint(connection: Connection) -> str:
    """What the user runs to connect again."""
    return _provider(connection.settings).reconnect_hint(connection)


def authorize_url(connection: Connection, state: str | None = None) -> str:
    """The Xero consent URL for ``connection``; remembers the anti-forgery ``state``, which
    starts with the connection's name so the callback knows which connection it is for."""
    settings: XeroSettings = connection.settings  # type: ignore[assignment]
    state = oauth.new_consent_state(connection, state)
    query = urlencode({"response_type": "code", "client_id": settings.client_id,
                       "redirect_uri": settings.redirect_uri, "scope": settings.scopes,
                       "state": state})
    return f"{settings.authorize_url}?{query}"


def exchange_code(connection: Connection, http: httpx.Client, code: str, state: str) -> dict:
    """Finish the consent: check ``state``, trade ``code`` for tokens, store them, then choose
    the tenant through /connections. Returns the stored token set."""
    settings: XeroSettings = connection.settings  # type: ignore[assignment]
    oauth.check_consent_state(connection, state, reconnect_hint(connection))
    response = oauth.post_token(_provider(settings), settings, http, {
        "grant_type": "authorization_code", "code": code, "redirect_uri": settings.redirect_uri})
    if response.status_code != 200:
        raise ConnectionRevoked(f"Xero refused the authorisation code: {response.text}",
                             hint=reconnect_hint(connection))
    tokens = oauth.token_set(response.json(), connection.now())
    connection.state.set(TOKENS, tokens, secret=True)
    connection.state.set(oauth.OAUTH_STATE, None)
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


class TokenManager(RotatingTokens):
    """Hands out a live access token of a Xero connection, refreshing it before it expires
    (:class:`hub.contract.oauth.RotatingTokens`)."""

    def __init__(self, connection: Connection, http: httpx.Client) -> None:
        super().__init__(connection, http, _provider(connection.settings))
