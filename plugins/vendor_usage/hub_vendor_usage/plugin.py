"""Vendor usage plugin: the ``pax8`` and ``csv_usage`` connection types.

``pax8`` pulls companies (organisations) and subscriptions plus usage lines (usage records) and
can answer vendor-usage counters live (``count_live``); ``csv_usage`` reads a vendor's usage
export with a per-vendor column mapping. Stored usage is counted by the hub's stored counter.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from hub import (
    Connection, ConnectionType, Counted, CountQuery, PullPage, hookimpl, owns,
)

from hub_vendor_usage import csv_usage
from hub_vendor_usage.settings import CsvUsageSettings, Pax8Settings

PAX8 = "pax8"
CSV_USAGE = "csv_usage"


@hookimpl
def hub_register_connection_types(register: Callable[[ConnectionType], None]) -> None:
    """Register ``pax8`` and ``csv_usage``."""
    register(ConnectionType(name=PAX8, settings_model=Pax8Settings,
                            capabilities=frozenset({"pull", "usage", "count"}),
                            description="Pax8: companies, subscriptions and usage"))
    register(ConnectionType(name=CSV_USAGE, settings_model=CsvUsageSettings,
                            capabilities=frozenset({"usage"}),
                            description="a vendor's usage CSV export, column mapping per vendor"))


@hookimpl
def hub_pull_organisations(connection: Connection, since: Any, cursor: str | None
                           ) -> PullPage | None:
    """One page of Pax8 companies."""
    if not owns(connection, PAX8):
        return None
    from hub_vendor_usage import pax8  # its client imports httpx: only when a hook needs it

    return pax8.pull_companies(connection, cursor)


@hookimpl
def hub_pull_usage(connection: Connection, period_start: dt.date, period_end: dt.date,
                   cursor: str | None) -> PullPage | None:
    """Pax8 subscriptions and usage lines, or a CSV file's rows, for the period."""
    if owns(connection, PAX8):
        from hub_vendor_usage import pax8

        return pax8.pull_usage(connection, period_start, period_end, cursor)
    if owns(connection, CSV_USAGE):
        settings: CsvUsageSettings = connection.settings  # type: ignore[assignment]
        records = csv_usage.usage_records(settings, (period_start, period_end))
        return PullPage(records=tuple(records), cursor=None, complete=True, full=True)
    return None


@hookimpl
def hub_fetch_vendor_usage(connection: Connection, query: CountQuery) -> Counted | None:
    """Live Pax8 licence counts, only when the connection has ``count_live`` on."""
    if not owns(connection, PAX8) or not connection.settings.count_live:
        return None
    from hub_vendor_usage import pax8

    return pax8.fetch_usage(connection, query)
