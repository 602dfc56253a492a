"""Datto RMM API 2.0 client (``specs/datto_rmm/datto-rmm-openapi.json``).

Log-in is Datto's OAuth password grant: ``POST /auth/oauth/token`` with the fixed public client
``public-client:public`` (HTTP basic) and the API key and secret as username and password. Lists
(``/api/v2/account/sites``, ``/api/v2/account/devices``) take ``page``/``max`` and answer
``{"pageDetails": {..., "nextPageUrl": ...}, "sites"|"devices": [...]}``; the client follows
``nextPageUrl`` until it is null.
"""

from __future__ import annotations

from typing import Any

from hub import BearerTokenClient, access_token_of

from hub_datto_rmm.settings import DattoRmmSettings

__all__ = ["DattoRmmClient"]

_PUBLIC_CLIENT = ("public-client", "public")


class DattoRmmClient(BearerTokenClient):
    """One connection's client; keeps its token in the connection state."""

    vendor = "Datto RMM"
    token_key = "datto_rmm.token"
    settings: DattoRmmSettings

    def _login(self) -> tuple[str, float]:
        body = self._login_http.post(
            "/auth/oauth/token", auth=_PUBLIC_CLIENT,
            data={"grant_type": "password", "username": self.settings.api_key,
                  "password": self.settings.api_secret.get_secret_value()})
        return access_token_of(body, self.vendor, hint="check api_key/api_secret")

    def page(self, what: str, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of ``sites`` or ``devices``: its items and the next page's URL."""
        if cursor:
            body = self.http.get(cursor)  # nextPageUrl is absolute and carries page/max
        else:
            body = self.http.get(f"/api/v2/account/{what}",
                                 params={"page": 0, "max": self.settings.page_size})
        details = body.get("pageDetails") or {}
        return body.get(what) or [], details.get("nextPageUrl")
