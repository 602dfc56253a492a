"""The ``ninjaone`` connection type: organisations and devices, and a live asset counter.

Pulls are always full: NinjaOne's device list has no changed-since filter, so every pull lists
everything (``full=True``) and the hub marks devices that vanished as deleted at the source.
The cursor is the last id seen, as NinjaOne pages by ``after``.
"""

from __future__ import annotations

from typing import Any, Callable

from hub import (
    Connection, ConnectionType, Counted, CountedItem, CountQuery, HubError, PullPage, hookimpl,
    owns,
)

from hub_ninjaone.records import asset_record, organisation_record
from hub_ninjaone.settings import NinjaOneSettings

CONNECTION_TYPE = "ninjaone"


def _client(connection: Connection) -> Any:
    """A :class:`hub_ninjaone.client.NinjaOneClient` for ``connection`` (imported here so that
    loading the plugin at CLI start does not import httpx)."""
    from hub_ninjaone.client import NinjaOneClient

    return NinjaOneClient(connection)
_ASSET_FILTERS = ("asset_type", "policy", "status", "name")


@hookimpl
def hub_register_connection_types(register: Callable[[ConnectionType], None]) -> None:
    """Register ``ninjaone``."""
    register(ConnectionType(name=CONNECTION_TYPE, settings_model=NinjaOneSettings,
                            capabilities=frozenset({"pull", "count"}),
                            description="NinjaOne RMM: organisations and devices"))


def _page(fetch: Callable[[int | None], list[dict[str, Any]]], cursor: str | None,
          page_size: int, convert: Callable[[dict[str, Any]], Any]) -> PullPage:
    after = int(cursor) if cursor else None
    items = fetch(after)
    records = tuple(convert(item) for item in items)
    last = len(items) < page_size
    return PullPage(records=records, cursor=None if last else str(items[-1]["id"]),
                    complete=last, full=True)


@hookimpl
def hub_pull_organisations(connection: Connection, since: Any, cursor: str | None
                           ) -> PullPage | None:
    """One page of NinjaOne organisations (always a full listing)."""
    if not owns(connection, CONNECTION_TYPE):
        return None
    client = _client(connection)
    try:
        return _page(client.organisations_page, cursor, client.settings.page_size,
                     organisation_record)
    finally:
        client.close()


@hookimpl
def hub_pull_assets(connection: Connection, since: Any, cursor: str | None) -> PullPage | None:
    """One page of NinjaOne devices (always a full listing, so removals are noticed)."""
    if not owns(connection, CONNECTION_TYPE):
        return None
    client = _client(connection)
    try:
        after = int(cursor) if cursor else None
        devices = client.devices_page(after)
        systems = client.operating_systems([d["id"] for d in devices])
    finally:
        client.close()
    last = len(devices) < client.settings.page_size
    return PullPage(records=tuple(asset_record(d, systems.get(d["id"])) for d in devices),
                    cursor=None if last else str(devices[-1]["id"]), complete=last, full=True)


def _matches(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, (list, tuple, set, frozenset)):
        return value in wanted
    return value == wanted


@hookimpl
def hub_count_assets(connection: Connection, query: CountQuery) -> Counted | None:
    """Count the organisation's devices at NinjaOne itself, when ``count_live`` is on.

    Filters as the stored counter's: ``asset_type``/``policy``/``status``/``name`` and
    ``attributes.<key>`` (``node_class``, ``role``, ``os``, ``os_name``; the OS report is only
    asked for when ``os_name`` is filtered on).
    """
    if not owns(connection, CONNECTION_TYPE) or not connection.settings.count_live:
        return None
    organisation = query.organisation_external_ids.get(connection.name)
    if organisation is None:
        return None
    unknown = [k for k in query.filters
               if k not in _ASSET_FILTERS and not k.startswith("attributes.")]
    if unknown:
        raise HubError(f"unknown asset counter filter {unknown[0]!r}",
                       hint=f"use one of {', '.join(_ASSET_FILTERS)} or attributes.<name>")
    client = _client(connection)
    items: list[CountedItem] = []
    try:
        after: int | None = None
        while True:
            page = client.devices_page(after, device_filter=f"org = {organisation}")
            systems = client.operating_systems([d["id"] for d in page]) \
                if any(k.startswith("attributes.os_name") for k in query.filters) else {}
            for body in page:
                record = asset_record(body, systems.get(body["id"]))
                fields = {"asset_type": record.asset_type, "policy": record.policy,
                          "status": record.status, "name": record.name}
                fields.update({f"attributes.{k}": v for k, v in record.attributes.items()})
                if all(_matches(fields.get(k), v) for k, v in query.filters.items()):
                    items.append(CountedItem(ref=f"{connection.name}:device:{record.external_id}",
                                             label=record.name))
            if len(page) < client.settings.page_size:
                break
            after = int(page[-1]["id"])
    finally:
        client.close()
    return Counted(source=connection.name, items=tuple(items))
