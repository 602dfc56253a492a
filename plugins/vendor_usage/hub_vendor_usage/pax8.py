"""Pax8: companies become organisations; subscriptions and usage lines become usage records.

A subscription's ``quantity`` is the licence count for its company and product over the pulled
period (``external_id`` ``sub:<id>``); a ``Cancelled`` subscription is reported deleted, so it
stops being billed. A usage-based subscription's daily usage lines are usage records of their
own (``line:<summary>:<product>:<date>``, the period being that day). The product becomes the SKU
through ``sku_map`` (the explicit SKU mapping); an unmapped productId stays the SKU as it is.

Cursor (JSON): ``{"phase": "subscriptions"|"usage", "page": n}``; the usage phase walks the same
subscription pages again and fetches each one's usage summaries and their lines day by day.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any, Mapping

from hub import (
    Connection, Counted, CountedItem, CountQuery, Money, OrganisationRecord, PullPage,
    UsageRecord,
)

from hub_vendor_usage.pax8_client import Pax8Client
from hub_vendor_usage.settings import Pax8Settings

__all__ = ["pull_companies", "pull_usage", "fetch_usage", "subscription_record"]

#: Subscription statuses that are no longer billed.
ENDED = {"Cancelled"}


def _money(value: Any, currency: str | None) -> Money | None:
    if value is None or not currency:
        return None
    return Money(Decimal(str(value)), currency)


def _number(value: Any) -> str:
    # JSON numbers arrive as float or int; str() of the parsed value keeps what Pax8 wrote
    # (e.g. 15.99), then Decimal normalises it. No float arithmetic happens.
    return format(Decimal(str(value if value is not None else 0)).normalize(), "f")


def company_record(company: Mapping[str, Any]) -> OrganisationRecord:
    """A Pax8 company."""
    return OrganisationRecord(external_id=company["id"], name=company.get("name") or "",
                              deleted=company.get("status") == "Deleted",
                              attributes={"status": company.get("status"),
                                          "external_id": company.get("externalId")})


def subscription_record(sub: Mapping[str, Any], settings: Pax8Settings,
                        period: tuple[dt.date, dt.date]) -> UsageRecord:
    """A subscription's licence count for ``period``."""
    return UsageRecord(external_id=f"sub:{sub['id']}", organisation_external_id=sub["companyId"],
                       sku=settings.sku_map.get(sub["productId"], sub["productId"]),
                       description=sub.get("productName") or sub["productId"],
                       quantity=_number(sub.get("quantity")), period_start=period[0],
                       period_end=period[1], deleted=sub.get("status") in ENDED,
                       unit_cost=_money(sub.get("partnerCost"), sub.get("currencyCode")))


def line_record(line: Mapping[str, Any], summary: Mapping[str, Any], settings: Pax8Settings
                ) -> UsageRecord:
    """One day's usage line of a usage summary."""
    day = dt.date.fromisoformat(line["usageDate"])
    product = line.get("productId") or summary.get("productId")
    return UsageRecord(external_id=f"line:{summary['id']}:{product}:{day.isoformat()}",
                       organisation_external_id=summary["companyId"],
                       sku=settings.sku_map.get(product, product),
                       description=f"{line.get('productName') or product} ({day.isoformat()})",
                       quantity=_number(line.get("quantity")), period_start=day, period_end=day,
                       unit_cost=_money(line.get("unitPrice"), line.get("currencyCode")))


def pull_companies(connection: Connection, cursor: str | None) -> PullPage:
    """One page of companies (Pax8 has no changed-since filter: always a full listing)."""
    page = int(cursor or 0)
    client = Pax8Client(connection)
    try:
        items, last = client.page("/v1/companies", page)
    finally:
        client.close()
    return PullPage(records=tuple(company_record(c) for c in items),
                    cursor=None if last else str(page + 1), complete=last, full=True)


def pull_usage(connection: Connection, period_start: dt.date, period_end: dt.date,
               cursor: str | None) -> PullPage:
    """One page of subscriptions, or of one subscription page's usage lines (see module doc)."""
    settings: Pax8Settings = connection.settings  # type: ignore[assignment]
    position = json.loads(cursor) if cursor else {"phase": "subscriptions", "page": 0}
    period = (period_start, period_end)
    client = Pax8Client(connection)
    try:
        subscriptions, last = client.page("/v1/subscriptions", position["page"])
        if position["phase"] == "subscriptions":
            records = tuple(subscription_record(s, settings, period) for s in subscriptions)
            if not last:
                following: dict[str, Any] | None = {"phase": "subscriptions",
                                                    "page": position["page"] + 1}
            elif settings.usage_lines:
                following = {"phase": "usage", "page": 0}
            else:
                following = None
        else:
            records = tuple(_usage_lines(client, subscriptions, settings, period,
                                         connection.now().date()))
            following = None if last else {"phase": "usage", "page": position["page"] + 1}
    finally:
        client.close()
    return PullPage(records=records, cursor=json.dumps(following) if following else None,
                    complete=following is None, full=True)


def _usage_lines(client: Pax8Client, subscriptions: list[dict[str, Any]],
                 settings: Pax8Settings, period: tuple[dt.date, dt.date],
                 today: dt.date) -> list[UsageRecord]:
    records = []
    last_day = min(period[1], today)
    for sub in subscriptions:
        if sub.get("status") in ENDED:
            continue
        for summary in client.all(f"/v1/subscriptions/{sub['id']}/usage-summaries"):
            day = period[0]
            while day <= last_day:
                for line in client.usage_lines(summary["id"], day):
                    records.append(line_record(line, summary, settings))
                day += dt.timedelta(days=1)
    return records


def fetch_usage(connection: Connection, query: CountQuery) -> Counted | None:
    """Live licence counts at Pax8: the company's active subscriptions of ``filters["sku"]``."""
    settings: Pax8Settings = connection.settings  # type: ignore[assignment]
    company = query.organisation_external_ids.get(connection.name)
    if company is None:
        return None
    wanted = query.filters.get("sku")
    skus = set(wanted) if isinstance(wanted, (list, tuple, set, frozenset)) else \
        ({wanted} if wanted is not None else None)
    client = Pax8Client(connection)
    try:
        subscriptions = list(client.all("/v1/subscriptions", companyId=company))
    finally:
        client.close()
    items = []
    for sub in sorted(subscriptions, key=lambda s: s["id"]):
        if sub.get("status") in ENDED:
            continue
        sku = settings.sku_map.get(sub["productId"], sub["productId"])
        if skus is not None and sku not in skus:
            continue
        items.append(CountedItem(ref=f"{connection.name}:subscription:{sub['id']}",
                                 label=sub.get("productName") or sku,
                                 quantity=_number(sub.get("quantity"))))
    return Counted(source=connection.name, items=tuple(items))
