"""Pax8 partner API client (``specs/pax8``).

Log-in: ``POST /v1/token`` with a JSON body ``{client_id, client_secret, audience,
grant_type: "client_credentials"}`` → ``{access_token, expires_in: 86400}``. Lists
(``/v1/companies``, ``/v1/subscriptions``, ``/v1/subscriptions/{id}/usage-summaries``) take
``page`` (from 0) and ``size`` (max 200) and answer ``{"content": [...], "page": {"size",
"totalElements", "totalPages", "number"}}``; usage lines need ``usageDate``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterator

from hub import BearerTokenClient, access_token_of

from hub_vendor_usage.settings import Pax8Settings

__all__ = ["Pax8Client"]


class Pax8Client(BearerTokenClient):
    """One connection's client; keeps its token (24 h) in the connection state."""

    vendor = "Pax8"
    token_key = "pax8.token"
    settings: Pax8Settings

    def _login(self) -> tuple[str, float]:
        body = self._login_http.post("/v1/token", content=json.dumps({
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret.get_secret_value(),
            "audience": self.settings.audience, "grant_type": "client_credentials"}),
            headers={"Content-Type": "application/json"})
        return access_token_of(body, self.vendor, hint="check client_id/secret",
                               default_lifetime=86400)

    def page(self, path: str, page: int, **params: Any) -> tuple[list[dict[str, Any]], bool]:
        """One page of a list: its items and whether it was the last page."""
        body = self.http.get(path, params={"page": page, "size": self.settings.page_size,
                                           **params})
        info = body.get("page") or {}
        total_pages = int(info.get("totalPages") or 0)
        return body.get("content") or [], page + 1 >= total_pages

    def all(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a list, page by page."""
        page = 0
        while True:
            items, last = self.page(path, page, **params)
            yield from items
            if last:
                return
            page += 1

    def usage_lines(self, summary_id: str, day: dt.date) -> list[dict[str, Any]]:
        """The usage lines of one usage summary for one day."""
        # The spec gives this endpoint no page/size parameters: one call per summary and day.
        body = self.http.get(f"/v1/usage-summaries/{summary_id}/usage-lines",
                             params={"usageDate": day.isoformat()})
        return (body or {}).get("content") or []
