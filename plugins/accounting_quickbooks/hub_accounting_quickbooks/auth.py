"""OAuth 2.0 for QuickBooks Online: the consent URL, the code exchange (which names the company,
``realmId``) and token refresh.

Tokens live in ``connection.state`` under :data:`TOKENS` (``secret=True``: the host encrypts
them). Intuit rotates the refresh token (keep the newest; it dies after 100 days unused) and
refuses a spent one at once; :class:`hub.contract.oauth.RotatingTokens` refreshes safely across
workers (compare-and-set, one thread of a process at a time, a refused worker waits for the pair
another process stores).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx

from hub import Connection, ConnectionRevoked, OAuthProvider, RotatingTokens, oauth

from hub_accounting_quickbooks.settings import QuickBooksSettings

__all__ = ["ConnectionRevoked", "TOKENS", "REALM", "authorize_url", "exchange_code",
           "TokenManager", "reconnect_hint", "connection_name_of_state", "realm_of"]

REALM = "realm_id"

#: The key of the token set in the connection's state (:mod:`hub.contract.oauth`).
TOKENS = oauth.TOKENS
connection_name_of_state = oauth.connection_name_of_state

def _provider(settings: QuickBooksSettings) -> OAuthProvider:
    # Intuit spends a refresh token when it is used: a worker refused right after another
    # process refreshed waits a moment for the pair that process stores.
    return OAuthProvider(product="QuickBooks", command="quickbooks", issuer="Intuit",
                         token_url=settings.token_url, unused_days=100,
                         token_headers={"Accept": "application/json"}, settle_seconds=2.0)


def reconnect_hint(connection: Connection) -> str:
    """What the user runs to connect again."""
    return _provider(connection.settings).reconnect_hint(connection)


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
    state = oauth.new_consent_state(connection, state)
    query = urlencode({"client_id": settings.client_id, "response_type": "code",
                       "scope": settings.scopes, "redirect_uri": settings.redirect_uri,
                       "state": state})
    return f"{settings.authorize_url}?{query}"


def exchange_code(connection: Connection, http: httpx.Client, code: str, state: str,
                  realm_id: str) -> dict[str, Any]:
    """Finish the consent: check ``state``, trade ``code`` for tokens and store them with the
    company (``realmId``) Intuit named. Returns the stored token set."""
    settings: QuickBooksSettings = connection.settings  # type: ignore[assignment]
    oauth.check_consent_state(connection, state, reconnect_hint(connection))
    if settings.realm_id and settings.realm_id != realm_id:
        raise ConnectionRevoked(f"the consent connected company {realm_id}, but connection "
                                f"{connection.name!r} is configured for {settings.realm_id}",
                                hint=reconnect_hint(connection) + " and choose that company")
    response = oauth.post_token(_provider(settings), settings, http, {
        "grant_type": "authorization_code", "code": code, "redirect_uri": settings.redirect_uri})
    if response.status_code != 200:
        raise ConnectionRevoked(f"Intuit refused the authorisation code: {response.text}",
                                hint=reconnect_hint(connection))
    tokens = oauth.token_set(response.json(), connection.now())
    connection.state.set(TOKENS, tokens, secret=True)
    connection.state.set(REALM, realm_id)
    connection.state.set(oauth.OAUTH_STATE, None)
    return tokens


class TokenManager(RotatingTokens):
    """Hands out a live access token of a QuickBooks connection, refreshing it before it
    expires (:class:`hub.contract.oauth.RotatingTokens`)."""

    def __init__(self, connection: Connection, http: httpx.Client) -> None:
        super().__init__(connection, http, _provider(connection.settings))
