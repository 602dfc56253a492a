"""NinjaOne Public API 2.0 client: OAuth client credentials and ``after``/``pageSize`` paging.

Wire format from ``specs/ninjaone/ninjaone-api-core-resources.yaml``: ``GET /v2/organizations``
and ``GET /v2/devices-detailed`` answer a bare JSON array; the next page is asked for with
``after`` = the last id of the previous page, and a page shorter than ``pageSize`` is the last.
The OS of each device comes from ``GET /v2/queries/operating-systems`` (filtered with
``df=id in (...)`` to the devices of one page; the report pages by ``cursor``).
"""

from __future__ import annotations

from typing import Any

from hub import BearerTokenClient, access_token_of

from hub_ninjaone.settings import NinjaOneSettings

__all__ = ["NinjaOneClient"]


class NinjaOneClient(BearerTokenClient):
    """One connection's client; cheap to build, keeps its token in the connection state."""

    vendor = "NinjaOne"
    token_key = "ninjaone.token"
    settings: NinjaOneSettings

    def _login(self) -> tuple[str, float]:
        body = self._login_http.post("/ws/oauth/token", data={
            "grant_type": "client_credentials", "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret.get_secret_value(),
            "scope": self.settings.scope})
        return access_token_of(body, self.vendor, hint="check client_id/secret")

    def organisations_page(self, after: int | None) -> list[dict[str, Any]]:
        """One page of organisations with ids greater than ``after``."""
        params: dict[str, Any] = {"pageSize": self.settings.page_size}
        if after is not None:
            params["after"] = after
        return self.http.get("/v2/organizations", params=params) or []

    def devices_page(self, after: int | None, device_filter: str | None = None
                     ) -> list[dict[str, Any]]:
        """One page of devices (detailed: role and policy references) after ``after``."""
        params: dict[str, Any] = {"pageSize": self.settings.page_size}
        if after is not None:
            params["after"] = after
        if device_filter:
            params["df"] = device_filter
        return self.http.get("/v2/devices-detailed", params=params) or []

    def operating_systems(self, device_ids: list[int]) -> dict[int, dict[str, Any]]:
        """The operating-systems report rows of these devices, by device id (cursor paging)."""
        if not device_ids:
            return {}
        params: dict[str, Any] = {"pageSize": self.settings.page_size,
                                  "df": f"id in ({','.join(str(i) for i in device_ids)})"}
        rows: dict[int, dict[str, Any]] = {}
        while True:
            body = self.http.get("/v2/queries/operating-systems", params=params) or {}
            results = body.get("results") or []
            rows.update({row["deviceId"]: row for row in results if "deviceId" in row})
            cursor = (body.get("cursor") or {}).get("name")
            if len(results) < self.settings.page_size or not cursor:
                return rows
            params = {"pageSize": self.settings.page_size, "cursor": cursor}
