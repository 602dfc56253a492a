"""NinjaOne JSON → the hub's records. Pure functions, no I/O.

A device's ``nodeClass`` gives its asset type and OS family (``os``: windows, macos, linux...);
the operating-systems report gives the OS's name (``os_name``, e.g. "Windows 11 Pro"). Its
status is ``pending`` while awaiting approval, ``offline`` when NinjaOne says so, else
``active``. The role and policy names come from ``references`` (``/v2/devices-detailed``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from hub import AssetRecord, OrganisationRecord

__all__ = ["organisation_record", "asset_record", "asset_type_of", "os_of"]

_SERVER = {"WINDOWS_SERVER", "LINUX_SERVER", "MAC_SERVER", "VMWARE_VM_HOST", "HYPERV_VMM_HOST",
           "NMS_SERVER", "NMS_VM_HOST"}
_WORKSTATION = {"WINDOWS_WORKSTATION", "LINUX_WORKSTATION", "MAC", "NMS_COMPUTER"}
_VIRTUAL = {"VMWARE_VM_GUEST", "HYPERV_VMM_GUEST", "NMS_VIRTUAL_MACHINE"}
_MOBILE = {"ANDROID", "APPLE_IOS", "APPLE_IPADOS", "NMS_PHONE"}


def asset_type_of(node_class: str | None) -> str:
    """The hub's asset type for a NinjaOne ``nodeClass``."""
    node_class = node_class or ""
    if node_class in _SERVER:
        return "server"
    if node_class in _WORKSTATION:
        return "workstation"
    if node_class in _VIRTUAL:
        return "virtual_machine"
    if node_class in _MOBILE:
        return "mobile"
    if node_class.startswith("NMS_"):
        return "network"
    return "other"


def os_of(node_class: str | None) -> str | None:
    """The operating-system family a ``nodeClass`` implies (NinjaOne names it in the class)."""
    node_class = node_class or ""
    for prefix, family in (("WINDOWS", "windows"), ("LINUX", "linux"), ("MAC", "macos"),
                           ("ANDROID", "android"), ("APPLE", "ios"), ("VMWARE", "vmware"),
                           ("HYPERV", "windows")):
        if node_class.startswith(prefix):
            return family
    return None


def _epoch(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    return dt.datetime.fromtimestamp(float(value), tz=dt.timezone.utc)


def organisation_record(body: Mapping[str, Any]) -> OrganisationRecord:
    """An organisation from ``/v2/organizations``."""
    return OrganisationRecord(external_id=str(body["id"]), name=body.get("name") or "",
                              attributes={"description": body.get("description")})


def asset_record(body: Mapping[str, Any], os_row: Mapping[str, Any] | None = None
                 ) -> AssetRecord:
    """A device from ``/v2/devices-detailed``, with its operating-systems report row if any."""
    references = body.get("references") or {}
    role = (references.get("role") or {}).get("name")
    policy = (references.get("policy") or {}).get("name")
    if body.get("approvalStatus") == "PENDING":
        status = "pending"
    elif body.get("offline"):
        status = "offline"
    else:
        status = "active"
    node_class = body.get("nodeClass")
    return AssetRecord(
        external_id=str(body["id"]),
        organisation_external_id=str(body["organizationId"]),
        name=body.get("displayName") or body.get("systemName") or f"device {body['id']}",
        asset_type=asset_type_of(node_class), policy=policy, status=status,
        last_seen=_epoch(body.get("lastContact")),
        attributes={"node_class": node_class, "role": role, "os": os_of(node_class),
                    "os_name": (os_row or {}).get("name"),
                    "system_name": body.get("systemName"),
                    "chassis": (references.get("role") or {}).get("chassisType")})
