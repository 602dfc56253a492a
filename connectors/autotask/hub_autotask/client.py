"""Autotask PSA REST client (``specs/autotask/autotask-psa-requests.json``).

Every call carries the ``ApiIntegrationcode``, ``UserName`` and ``Secret`` headers. Entities are
read with ``POST /V1.0/{Entity}/query`` and a JSON body ``{"MaxRecords": n, "filter": [...]}``;
the answer is ``{"items": [...], "pageDetails": {"nextPageUrl": ...}}`` and the next page is a
``GET`` of ``nextPageUrl`` until it is null.

Each Autotask database lives in one *zone* (``webservices5.autotask.net`` ...). Unless the
settings name it, the zone is found from the API user's name with the unauthenticated
``GET /V1.0/ZoneInformation?user=NAME`` (answer: ``{"zoneName", "url", "webUrl", "ci"}``; sent
with the same three headers, as the collection describes it) and kept in the connection's durable state, so it is asked once per user, not once per pull.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from hub import BudgetLimits, Connection, PermanentError, VendorHttp

from hub_autotask.settings import AutotaskSettings

__all__ = ["AutotaskClient", "zone_url"]

_ZONE_KEY = "autotask.zone"


def _headers(settings: AutotaskSettings) -> dict[str, str]:
    return {"ApiIntegrationcode": settings.integration_code.get_secret_value(),
            "UserName": settings.username, "Secret": settings.secret.get_secret_value(),
            "Content-Type": "application/json"}


def zone_url(connection: Connection, *, transport: httpx.BaseTransport | None = None) -> str:
    """The REST base URL of the connection's zone: from the settings, or looked up by user."""
    settings: AutotaskSettings = connection.settings  # type: ignore[assignment]
    if settings.base_url:
        return settings.base_url.rstrip("/")
    cached = connection.state.get(_ZONE_KEY)
    if (cached and cached.get("user") == settings.username
            and cached.get("lookup") == settings.zone_lookup_url):
        return cached["url"]
    directory = VendorHttp(connection, settings.zone_lookup_url,
                           auth_headers=lambda _force: _headers(settings),
                           requests_per_minute=settings.requests_per_minute,
                           timeout=settings.timeout_seconds, transport=transport,
                           vendor="Autotask zone lookup")
    hint = ("check `username` (the API user's UserName), or set `base_url` to the zone URL "
            "shown on Autotask's API user page")
    try:
        body = directory.get("/V1.0/ZoneInformation", params={"user": settings.username})
    except PermanentError as exc:  # a refusal names the user; retrying will not find a zone
        raise PermanentError(f"Autotask found no zone for API user {settings.username!r}: "
                             f"{exc.vendor_message}", vendor_message=exc.vendor_message,
                             hint=hint) from None
    finally:
        directory.close()
    url = body.get("url") if isinstance(body, dict) else None
    if not url:
        raise PermanentError(f"Autotask named no zone for API user {settings.username!r}",
                             hint=hint)
    url = str(url).rstrip("/")
    connection.state.set(_ZONE_KEY, {"user": settings.username,
                                     "lookup": settings.zone_lookup_url, "url": url,
                                     "zone": body.get("zoneName")})
    return url


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
        self.http = VendorHttp(connection, zone_url(connection, transport=transport),
                               auth_headers=self._headers,
                               limits=limits, account=settings.budget_account or settings.username,
                               timeout=settings.timeout_seconds, transport=transport,
                               vendor="Autotask")

    def _headers(self, _force: bool) -> dict[str, str]:
        return _headers(self.settings)

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
