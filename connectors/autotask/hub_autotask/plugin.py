"""The ``autotask`` connection type: companies, contacts, tickets with time entries, and a live
user counter.

Pulls are incremental: with ``since`` the queries ask for ``lastActivityDate`` /
``lastModifiedDate`` after it, and tickets also come back when only one of their time entries
changed, so the hub always receives a ticket with its *complete* list of time entries (it removes
pending charges whose entry has gone). Without ``since`` the pull is full and deletions show.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Callable

from hub import (
    Connection, ConnectionType, Counted, CountedItem, CountQuery, HubError, PullPage, hookimpl,
    owns,
)

from hub_autotask.records import contact_record, organisation_record, ticket_record
from hub_autotask.settings import AutotaskSettings

CONNECTION_TYPE = "autotask"
_ALL = [{"op": "gte", "field": "id", "value": 0}]


# Hook modules stay light: the client (httpx) is imported when a hook first needs it, so the
# host can load every plugin at each CLI start without paying for HTTP.
def _client(connection: Connection) -> Any:
    """A :class:`hub_autotask.client.AutotaskClient` for ``connection``."""
    from hub_autotask.client import AutotaskClient

    return AutotaskClient(connection)


@hookimpl
def hub_register_connection_types(register: Callable[[ConnectionType], None]) -> None:
    """Register ``autotask``."""
    register(ConnectionType(name=CONNECTION_TYPE, settings_model=AutotaskSettings,
                            capabilities=frozenset({"pull", "count"}),
                            description="Autotask PSA: companies, contacts, tickets, time"))


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _changed_since(field: str, since: dt.datetime | None) -> list[dict[str, Any]]:
    return [{"op": "gt", "field": field, "value": _iso(since)}] if since else _ALL


def _simple_pull(connection: Connection, entity: str, field: str, since: dt.datetime | None,
                 cursor: str | None, convert: Callable[[dict[str, Any]], Any]) -> PullPage:
    client = _client(connection)
    try:
        items, next_url = client.query(entity, _changed_since(field, since), cursor)
    finally:
        client.close()
    return PullPage(records=tuple(convert(item) for item in items), cursor=next_url,
                    complete=next_url is None, full=since is None)


@hookimpl
def hub_pull_organisations(connection: Connection, since: dt.datetime | None,
                           cursor: str | None) -> PullPage | None:
    """One page of Autotask companies (changed since ``since`` when given)."""
    if not owns(connection, CONNECTION_TYPE):
        return None
    return _simple_pull(connection, "Companies", "lastActivityDate", since, cursor,
                        organisation_record)


@hookimpl
def hub_pull_contacts(connection: Connection, since: dt.datetime | None,
                      cursor: str | None) -> PullPage | None:
    """One page of Autotask contacts (changed since ``since`` when given)."""
    if not owns(connection, CONNECTION_TYPE):
        return None
    settings = connection.settings
    return _simple_pull(connection, "Contacts", "lastModifiedDate", since, cursor,
                        lambda item: contact_record(item, settings))


@hookimpl
def hub_pull_tickets(connection: Connection, since: dt.datetime | None,
                     cursor: str | None) -> PullPage | None:
    """One page of tickets, each with all its time entries (see module docstring)."""
    if not owns(connection, CONNECTION_TYPE):
        return None
    settings = connection.settings
    client = _client(connection)
    try:
        if cursor:
            tickets, next_url = client.query("Tickets", [], cursor)
        else:
            filters = _ALL
            if since:
                changed = client.query_all("TimeEntries",
                                           _changed_since("lastModifiedDateTime", since))
                either: list[dict[str, Any]] = [
                    {"op": "gt", "field": "lastActivityDate", "value": _iso(since)}]
                ticket_ids = sorted({entry["ticketID"] for entry in changed})
                if ticket_ids:
                    either.append({"op": "in", "field": "id", "value": ticket_ids})
                filters = [{"op": "or", "items": either}]
            tickets, next_url = client.query("Tickets", filters)
        entries: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        ids = [ticket["id"] for ticket in tickets]
        if ids:
            for entry in client.query_all("TimeEntries",
                                          [{"op": "in", "field": "ticketID", "value": ids}]):
                entries[entry["ticketID"]].append(entry)
    finally:
        client.close()
    records = tuple(ticket_record(t, sorted(entries[t["id"]], key=lambda e: e["id"]), settings)
                    for t in tickets)
    return PullPage(records=records, cursor=next_url, complete=next_url is None,
                    full=since is None)


def _matches(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, (list, tuple, set, frozenset)):
        return value in wanted
    return value == wanted


@hookimpl
def hub_count_licensed_users(connection: Connection, query: CountQuery) -> Counted | None:
    """Count the company's contacts at Autotask itself, when ``count_live`` is on.

    Filters: ``name``, ``email`` and ``attributes.<key>`` (``active`` and the attributes named in
    ``contact_udf_attributes``), exactly as the stored counter reads them.
    """
    if not owns(connection, CONNECTION_TYPE) or not connection.settings.count_live:
        return None
    company = query.organisation_external_ids.get(connection.name)
    if company is None:
        return None
    unknown = [k for k in query.filters if k not in ("name", "email")
               and not k.startswith("attributes.")]
    if unknown:
        raise HubError(f"unknown user counter filter {unknown[0]!r}",
                       hint="use name, email or attributes.<name>")
    client = _client(connection)
    try:
        contacts = client.query_all("Contacts", [{"op": "eq", "field": "companyID",
                                                  "value": int(company)}])
    finally:
        client.close()
    items = []
    for body in sorted(contacts, key=lambda c: c["id"]):
        record = contact_record(body, connection.settings)
        fields = {"name": record.name, "email": record.email,
                  **{f"attributes.{k}": v for k, v in record.attributes.items()}}
        if all(_matches(fields.get(k), v) for k, v in query.filters.items()):
            items.append(CountedItem(ref=f"{connection.name}:contact:{record.external_id}",
                                     label=record.name))
    return Counted(source=connection.name, items=tuple(items))
