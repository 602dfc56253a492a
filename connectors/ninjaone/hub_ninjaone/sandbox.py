"""A local NinjaOne: answers ``/ws/oauth/token``, ``/v2/organizations``,
``/v2/devices-detailed`` and ``/v2/queries/operating-systems`` like the real API
(``specs/ninjaone``), with ``after``/``pageSize`` and cursor paging, bearer tokens, rate limits
and injectable failures (:mod:`hub.testing.vendor_sandbox`).

``NinjaOneData`` is the world the sandbox serves; tests change it (remove a device, rename an
organisation) between pulls. ``python -m hub_ninjaone.sandbox`` serves a generated world.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request

from hub.testing.vendor_sandbox import (SandboxControl, install, issue_token, read_form, require_bearer,
                         vendor_errors)

__all__ = ["NinjaOneData", "generate", "create_app", "MAX_PAGE_SIZE"]

MAX_PAGE_SIZE = 1000
_CLASSES = ["WINDOWS_WORKSTATION", "WINDOWS_WORKSTATION", "WINDOWS_WORKSTATION", "MAC",
            "WINDOWS_SERVER", "LINUX_SERVER", "WINDOWS_WORKSTATION", "NMS_SWITCH",
            "VMWARE_VM_GUEST", "WINDOWS_WORKSTATION", "APPLE_IOS"]
_ROLES = {"WINDOWS_WORKSTATION": (1, "Windows Desktop", "DESKTOP"),
          "MAC": (2, "Mac Laptop", "LAPTOP"), "WINDOWS_SERVER": (3, "Windows Server", "UNKNOWN"),
          "LINUX_SERVER": (4, "Linux Server", "UNKNOWN"), "NMS_SWITCH": (5, "Switch", "UNKNOWN"),
          "VMWARE_VM_GUEST": (6, "VM Guest", "UNKNOWN"), "APPLE_IOS": (7, "iPhone", "MOBILE")}
_POLICIES = {1: "Workstations - Standard", 2: "Servers - Managed", 3: "Network", 4: "Mobile"}
#: What ``/v2/queries/operating-systems`` reports per node class (network gear has no OS row).
_OS = {"WINDOWS_WORKSTATION": ("Microsoft Corporation", "Windows 11 Pro", "22631"),
       "MAC": ("Apple Inc.", "macOS 14.5", "23F79"),
       "WINDOWS_SERVER": ("Microsoft Corporation", "Windows Server 2022 Standard", "20348"),
       "LINUX_SERVER": ("Canonical", "Ubuntu 22.04.4 LTS", "5.15.0"),
       "VMWARE_VM_GUEST": ("Microsoft Corporation", "Windows 10 Enterprise", "19045"),
       "APPLE_IOS": ("Apple Inc.", "iOS 17.5", "21F79")}


@dataclass
class NinjaOneData:
    """The organisations and devices the sandbox holds, keyed by id."""

    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"
    organizations: dict[int, dict[str, Any]] = field(default_factory=dict)
    devices: dict[int, dict[str, Any]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def devices_of(self, organisation_id: int) -> list[dict[str, Any]]:
        """The devices of one organisation, by id."""
        return [d for _, d in sorted(self.devices.items())
                if d["organizationId"] == organisation_id]


def _policy_for(node_class: str) -> int:
    if "SERVER" in node_class:
        return 2
    if node_class.startswith("NMS_"):
        return 3
    if node_class.startswith("APPLE_IOS"):
        return 4
    return 1


def make_device(device_id: int, organisation_id: int, index: int) -> dict[str, Any]:
    """One device as ``/v2/devices-detailed`` returns it (NodeWithDetailedReferences)."""
    node_class = _CLASSES[index % len(_CLASSES)]
    role_id, role_name, chassis = _ROLES[node_class]
    policy_id = _policy_for(node_class)
    return {
        "id": device_id, "uid": f"00000000-0000-4000-8000-{device_id:012d}",
        "organizationId": organisation_id, "locationId": organisation_id * 10,
        "nodeClass": node_class, "nodeRoleId": role_id, "policyId": policy_id,
        "approvalStatus": "PENDING" if index % 23 == 22 else "APPROVED",
        "offline": index % 9 == 8,
        "displayName": f"ORG{organisation_id}-DEV{index:04d}",
        "systemName": f"org{organisation_id}-dev{index:04d}",
        "created": 1_700_000_000.0, "lastContact": 1_760_000_000.0 + device_id,
        "lastUpdate": 1_760_000_000.0,
        "references": {
            "organization": {"id": organisation_id, "name": f"Organisation {organisation_id}"},
            "role": {"id": role_id, "name": role_name, "nodeClass": node_class,
                     "chassisType": chassis},
            "policy": {"id": policy_id, "name": _POLICIES[policy_id], "nodeClass": node_class},
        },
    }


def generate(organisations: int = 5, devices_per_organisation: int = 4) -> NinjaOneData:
    """A deterministic world: ``organisations`` organisations with their devices."""
    data = NinjaOneData()
    device_id = 1000
    for org_id in range(1, organisations + 1):
        data.organizations[org_id] = {"id": org_id, "name": f"Organisation {org_id}",
                                      "description": f"customer {org_id}",
                                      "nodeApprovalMode": "AUTOMATIC"}
        for index in range(devices_per_organisation):
            device_id += 1
            data.devices[device_id] = make_device(device_id, org_id, index)
    return data


def operating_system(device: dict[str, Any]) -> dict[str, Any] | None:
    """The device's row of the operating-systems report (DeviceOperatingSystem), if any."""
    known = _OS.get(device["nodeClass"])
    if known is None:
        return None
    manufacturer, name, build = known
    return {"manufacturer": manufacturer, "name": name, "architecture": "64-bit",
            "buildNumber": build, "lastBootTime": 1_760_000_000.0, "needsReboot": False,
            "deviceId": device["id"], "timestamp": 1_760_000_000.0}


def _filter(devices: dict[int, dict[str, Any]], df: str | None) -> dict[int, dict[str, Any]]:
    """Apply the two device filters the connector uses: ``org = N`` and ``id in (a,b,...)``."""
    if not df:
        return devices
    text = df.replace(" ", "")
    if text.startswith("org=") and text[4:].isdigit():
        org = int(text[4:])
        return {i: d for i, d in devices.items() if d["organizationId"] == org}
    if text.startswith("idin(") and text.endswith(")"):
        wanted = {int(part) for part in text[5:-1].split(",") if part.isdigit()}
        return {i: d for i, d in devices.items() if i in wanted}
    raise HTTPException(400, detail=f"unsupported device filter {df!r}")


def _page(items: dict[int, dict[str, Any]], after: int | None, size: int) -> list[dict[str, Any]]:
    ids = sorted(i for i in items if after is None or i > after)
    return [items[i] for i in ids[:size]]


def _check_size(size: int | None) -> int:
    size = MAX_PAGE_SIZE if size is None else size
    if size < 1 or size > MAX_PAGE_SIZE:
        raise HTTPException(400, detail=f"pageSize must be 1..{MAX_PAGE_SIZE}")
    return size


def create_app(data: NinjaOneData, control: SandboxControl | None = None) -> FastAPI:
    """The sandbox app serving ``data``; ``app.state.control`` switches failures on."""
    app = FastAPI(title="NinjaOne sandbox")
    install(app, control)
    vendor_errors(app, lambda _request, exc: {"error": str(exc.detail)})

    def authorise(request: Request) -> None:
        require_bearer(request, data.tokens, "invalid or expired token")

    @app.post("/ws/oauth/token")
    async def token(request: Request) -> dict[str, Any]:
        form = await read_form(request)  # application/x-www-form-urlencoded
        if form.get("grant_type") != "client_credentials":
            raise HTTPException(400, detail="unsupported_grant_type")
        if form.get("client_id") != data.client_id or \
                form.get("client_secret") != data.client_secret:
            raise HTTPException(401, detail="invalid_client")
        return {"access_token": issue_token(data.tokens), "token_type": "bearer", "expires_in": 3600,
                "scope": form.get("scope", "monitoring")}

    @app.get("/v2/organizations")
    def organizations(request: Request, pageSize: int | None = Query(None),
                      after: int | None = Query(None)) -> list[dict[str, Any]]:
        authorise(request)
        with data.lock:
            return _page(data.organizations, after, _check_size(pageSize))

    @app.get("/v2/devices-detailed")
    def devices(request: Request, pageSize: int | None = Query(None),
                after: int | None = Query(None), df: str | None = Query(None)
                ) -> list[dict[str, Any]]:
        authorise(request)
        size = _check_size(pageSize)
        with data.lock:
            pool = _filter(data.devices, df)
            return _page(pool, after, size)

    @app.get("/v2/queries/operating-systems")
    def operating_systems(request: Request, df: str | None = Query(None),
                          ts: str | None = Query(None), cursor: str | None = Query(None),
                          pageSize: int | None = Query(None)) -> dict[str, Any]:
        authorise(request)
        size = _check_size(pageSize)
        if cursor:  # a cursor names the query and where it stopped
            try:
                state = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            except ValueError:
                raise HTTPException(400, detail="invalid cursor") from None
            df, offset = state["df"], state["offset"]
        else:
            offset = 0
        with data.lock:
            rows = [r for _, d in sorted(_filter(data.devices, df).items())
                    if (r := operating_system(d)) is not None]
        chunk = rows[offset:offset + size]
        name = base64.urlsafe_b64encode(json.dumps(
            {"df": df, "offset": offset + len(chunk)}).encode()).decode()
        return {"cursor": {"name": name, "offset": offset, "count": len(chunk),
                           "expires": 1_900_000_000.0},
                "results": chunk}

    return app


if __name__ == "__main__":  # pragma: no cover - manual demo: python -m hub_ninjaone.sandbox
    import uvicorn

    uvicorn.run(create_app(generate(20, 10)), host="127.0.0.1", port=8801)
