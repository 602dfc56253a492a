"""The ``datto_rmm`` connection type: sites as organisations, devices as assets.

Datto RMM's lists have no changed-since filter, so every pull is full (``full=True``): devices
that vanish, or that Datto flags ``deleted``, are marked deleted at the source by the hub. The
cursor is Datto's own ``nextPageUrl``. Counting is left to the hub's stored counter.
"""

from __future__ import annotations

from typing import Any, Callable

from hub import Connection, ConnectionType, PullPage, hookimpl, owns

from hub_datto_rmm.records import asset_record, organisation_record
from hub_datto_rmm.settings import DattoRmmSettings

CONNECTION_TYPE = "datto_rmm"


@hookimpl
def hub_register_connection_types(register: Callable[[ConnectionType], None]) -> None:
    """Register ``datto_rmm``."""
    register(ConnectionType(name=CONNECTION_TYPE, settings_model=DattoRmmSettings,
                            capabilities=frozenset({"pull"}),
                            description="Datto RMM: sites and devices"))


def _pull(connection: Connection, what: str, cursor: str | None,
          convert: Callable[[dict[str, Any]], Any]) -> PullPage:
    # imported here: the client (httpx) is not needed to load the plugin at CLI start
    from hub_datto_rmm.client import DattoRmmClient

    client = DattoRmmClient(connection)
    try:
        items, next_url = client.page(what, cursor)
    finally:
        client.close()
    return PullPage(records=tuple(convert(item) for item in items), cursor=next_url,
                    complete=next_url is None, full=True)


@hookimpl
def hub_pull_organisations(connection: Connection, since: Any, cursor: str | None
                           ) -> PullPage | None:
    """One page of Datto RMM sites."""
    if not owns(connection, CONNECTION_TYPE):
        return None
    return _pull(connection, "sites", cursor, organisation_record)


@hookimpl
def hub_pull_assets(connection: Connection, since: Any, cursor: str | None) -> PullPage | None:
    """One page of Datto RMM devices."""
    if not owns(connection, CONNECTION_TYPE):
        return None
    return _pull(connection, "devices", cursor, asset_record)
