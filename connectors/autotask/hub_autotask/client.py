"""Autotask PSA REST client (``specs/autotask/autotask-psa-requests.json``).

Every call carries the ``ApiIntegrationcode``, ``UserName`` and ``Secret`` headers. Entities are
read with ``POST /V1.0/{Entity}/query`` and a JSON body ``{"MaxRecords": n, "filter": [...]}``;
the answer is ``{"items": [...], "pageDetails": {"nextPageUrl": ...}}`` and the next page is a
``GET`` of ``nextPageUrl`` until it is null.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from hub import Connection
from hub import BudgetLimits, VendorHttp

from hub_autotask.settings import AutotaskSettings

__all__ = ["AutotaskClient"]


class AutotaskClient:
    """One connection's client."""

    def __init__(self, connection: Connection, *, transport: httpx.BaseTransport | None = None
                 ) -> None:
        settings: AutotaskSettings = connection.settings  # type: ignore[assignment]
        self.settings = settings
        # one budget per Autotask database, shared by every connection and worker using it
        limits = BudgetLimits(in_flight=settings.concurrent_requests,
                              per_minute=settings.requests_per_minute,
                              per_hour=settings.requests_per_hour)
        self.http = VendorHttp(connection, settings.base_url, auth_headers=self._headers,
                               limits=limits, account=settings.budget_account or settings.username,
                               timeout=settings.timeout_seconds, transport=transport,
                               vendor="Autotask")

    def _headers(self, _force: bool) -> dict[str, str]:
        return {"ApiIntegrationcode": self.settings.integration_code.get_secret_value(),
                "UserName": self.settings.username,
                "Secret": self.settings.secret.get_secret_value(),
                "Content-Type": "application/json"}

    def query(self, entity: str, filters: list[dict[str, Any]], cursor: str | None = None
              ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of ``entity`` matching ``filters`` (or the page at ``cursor``)."""
        if cursor:
            body = self.http.get(cursor)
        else:
            body = self.http.post(f"/V1.0/{entity}/query", content=json.dumps(
                {"MaxRecords": self.settings.page_size, "filter": filters}))
        details = body.get("pageDetails") or {}
        return body.get("items") or [], details.get("nextPageUrl")

    def query_all(self, entity: str, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every page of ``entity`` matching ``filters``."""
        items, cursor = self.query(entity, filters)
        while cursor:
            more, cursor = self.query(entity, filters, cursor)
            items.extend(more)
        return items

    def close(self) -> None:
        """Release the HTTP connections."""
        self.http.close()
