"""A local Datto RMM: ``/auth/oauth/token`` plus ``/api/v2/account/sites`` and
``/api/v2/account/devices`` with ``page``/``max`` paging and absolute ``nextPageUrl`` links, as in
``specs/datto_rmm``; rate limits and failures come from :mod:`hub.testing.vendor_sandbox`.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request

from hub.testing.vendor_sandbox import (SandboxControl, install, issue_token, read_form, require_bearer,
                         vendor_errors)

__all__ = ["DattoRmmData", "generate", "create_app", "MAX_PAGE_SIZE"]

MAX_PAGE_SIZE = 250
_CATEGORIES = [("Desktop", "Desktop"), ("Laptop", "Laptop"), ("Server", "Server"),
               ("Desktop", "Desktop"), ("Printer", "Printer"), ("Network Device", "Switch")]


@dataclass
class DattoRmmData:
    """The sites and devices the sandbox holds (keyed by uid, served in insertion order)."""

    api_key: str = "sandbox-key"
    api_secret: str = "sandbox-secret"
    sites: dict[str, dict[str, Any]] = field(default_factory=dict)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def generate(sites: int = 3, devices_per_site: int = 4) -> DattoRmmData:
    """A deterministic world of ``sites`` sites with their devices."""
    data = DattoRmmData()
    device_id = 5000
    for site_id in range(1, sites + 1):
        uid = f"site-{site_id:04d}"
        data.sites[uid] = {"id": site_id, "uid": uid, "accountUid": "acct-1",
                           "name": f"Site {site_id}", "description": "", "onDemand": False}
        for index in range(devices_per_site):
            device_id += 1
            category, kind = _CATEGORIES[index % len(_CATEGORIES)]
            data.devices[f"dev-{device_id}"] = {
                "id": device_id, "uid": f"dev-{device_id}", "siteId": site_id, "siteUid": uid,
                "siteName": f"Site {site_id}", "hostname": f"S{site_id}-HOST{index:03d}",
                "deviceType": {"category": category, "type": kind},
                "operatingSystem": "Microsoft Windows 11 Pro" if category != "Server"
                else "Microsoft Windows Server 2022",
                "online": index % 5 != 4, "suspended": False, "deleted": False,
                "lastSeen": "2026-11-01T10:00:00Z", "deviceClass":
                    "printer" if category == "Printer" else "device",
            }
    return data


def create_app(data: DattoRmmData, control: SandboxControl | None = None) -> FastAPI:
    """The sandbox app serving ``data``."""
    app = FastAPI(title="Datto RMM sandbox")
    install(app, control)
    vendor_errors(app, lambda _request, exc: {"message": str(exc.detail)})

    def authorise(request: Request) -> None:
        require_bearer(request, data.tokens, "Full authentication is required")

    @app.post("/auth/oauth/token")
    async def token(request: Request) -> dict[str, Any]:
        basic = request.headers.get("authorization", "")
        if basic != "Basic " + base64.b64encode(b"public-client:public").decode():
            raise HTTPException(401, detail="Bad client credentials")
        form = await read_form(request)
        if form.get("grant_type") != "password" or form.get("username") != data.api_key \
                or form.get("password") != data.api_secret:
            raise HTTPException(400, detail="invalid_grant")
        return {"access_token": issue_token(data.tokens), "token_type": "bearer", "expires_in": 359999,
                "scope": "default"}

    def listing(request: Request, what: str, items: list[dict[str, Any]], page: int,
                size: int) -> dict[str, Any]:
        if size < 1 or size > MAX_PAGE_SIZE or page < 0:
            raise HTTPException(400, detail=f"max must be 1..{MAX_PAGE_SIZE}, page >= 0")
        chunk = items[page * size:(page + 1) * size]
        base = str(request.url).split("?")[0]
        more = (page + 1) * size < len(items)
        details: dict[str, Any] = {"count": len(chunk), "totalCount": len(items)}
        # The spec types the links as strings: an absent link is left out, not null.
        if page > 0:
            details["prevPageUrl"] = f"{base}?page={page - 1}&max={size}"
        if more:
            details["nextPageUrl"] = f"{base}?page={page + 1}&max={size}"
        return {"pageDetails": details, what: chunk}

    @app.get("/api/v2/account/sites")
    def sites(request: Request, page: int = Query(0), max: int = Query(MAX_PAGE_SIZE)
              ) -> dict[str, Any]:
        authorise(request)
        with data.lock:
            return listing(request, "sites", list(data.sites.values()), page, max)

    @app.get("/api/v2/account/devices")
    def devices(request: Request, page: int = Query(0), max: int = Query(MAX_PAGE_SIZE)
                ) -> dict[str, Any]:
        authorise(request)
        with data.lock:
            return listing(request, "devices", list(data.devices.values()), page, max)

    return app


if __name__ == "__main__":  # pragma: no cover - manual demo: python -m hub_datto_rmm.sandbox
    import uvicorn

    uvicorn.run(create_app(generate(20, 10)), host="127.0.0.1", port=8802)
