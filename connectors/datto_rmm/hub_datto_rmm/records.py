"""Datto RMM JSON → the hub's records. Pure functions, no I/O.

Sites are the organisations (keyed by site ``uid``, which devices carry as ``siteUid``). A
device's ``deviceType.category`` gives its asset type; ``deleted`` devices are reported as deleted
at the source; ``suspended`` ones are ``suspended``, otherwise ``active`` or ``offline``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from hub import AssetRecord, OrganisationRecord

__all__ = ["organisation_record", "asset_record", "asset_type_of"]

_TYPES = {"server": "server", "esxi host": "server", "desktop": "workstation",
          "laptop": "workstation", "workstation": "workstation", "printer": "printer",
          "network device": "network", "mobile device": "mobile"}


def asset_type_of(device: Mapping[str, Any]) -> str:
    """The hub's asset type for a Datto device (its ``deviceType.category``)."""
    category = ((device.get("deviceType") or {}).get("category") or "").strip().lower()
    if category in _TYPES:
        return _TYPES[category]
    if device.get("deviceClass") == "printer":
        return "printer"
    if device.get("deviceClass") in ("rmmnetworkdevice",):
        return "network"
    return "other"


def _time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def organisation_record(site: Mapping[str, Any]) -> OrganisationRecord:
    """A site from ``/api/v2/account/sites``."""
    return OrganisationRecord(external_id=site["uid"], name=site.get("name") or "",
                              attributes={"site_id": site.get("id"),
                                          "autotask_company_id": site.get("autotaskCompanyId")})


def asset_record(device: Mapping[str, Any]) -> AssetRecord:
    """A device from ``/api/v2/account/devices``."""
    if device.get("suspended"):
        status = "suspended"
    elif device.get("online"):
        status = "active"
    else:
        status = "offline"
    return AssetRecord(
        external_id=device["uid"], organisation_external_id=device["siteUid"],
        name=device.get("hostname") or device["uid"], asset_type=asset_type_of(device),
        status=status, deleted=bool(device.get("deleted")), last_seen=_time(device.get("lastSeen")),
        attributes={"os": device.get("operatingSystem"),
                    "device_class": device.get("deviceClass"),
                    "category": (device.get("deviceType") or {}).get("category"),
                    "description": device.get("description")})
