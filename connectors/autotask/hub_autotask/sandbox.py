"""A local Autotask PSA: ``POST /V1.0/{Entity}/query`` and ``GET`` of its ``nextPageUrl`` for
Companies, Contacts, Tickets and TimeEntries, checking the ``ApiIntegrationcode``/``UserName``/
``Secret`` headers (``specs/autotask``). Query filters support ``eq noteq gt gte lt lte in notin
exist contains`` and ``and``/``or`` groups; pages hold at most 500 items and the next page is
an id-continuation ``GET .../query?search=...`` URL, as Autotask does. Rate limits and failures
come from :mod:`hub.testing.vendor_sandbox`. ``GET /V1.0/ZoneInformation?user=NAME`` (no
credentials, as at Autotask) names the zone of the sandbox's API user: the sandbox itself.

Mutate the world between pulls with :meth:`AutotaskData.change` so the change timestamps move.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Query, Request

from hub.testing.vendor_sandbox import SandboxControl, install, vendor_errors

__all__ = ["AutotaskData", "generate", "create_app", "MAX_RECORDS", "matches"]

MAX_RECORDS = 500
ENTITIES = {"Companies": "companies", "Contacts": "contacts", "Tickets": "tickets",
            "TimeEntries": "time_entries"}
#: The field each entity stamps when it changes.
CHANGE_FIELDS = {"companies": "lastActivityDate", "contacts": "lastModifiedDate",
                 "tickets": "lastActivityDate", "time_entries": "lastModifiedDateTime"}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds").replace(
        "+00:00", "Z")


@dataclass
class AutotaskData:
    """The entities the sandbox holds, keyed by id."""

    integration_code: str = "SANDBOXCODE"
    username: str = "api@sandbox.example"
    secret: str = "sandbox-secret"
    companies: dict[int, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    time_entries: dict[int, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def change(self, table: str, item_id: int, **values: Any) -> None:
        """Change an entity as a user would, stamping its change time."""
        with self.lock:
            item = getattr(self, table)[item_id]
            item.update(values)
            item[CHANGE_FIELDS[table]] = _now()

    def remove(self, table: str, item_id: int) -> None:
        """Delete an entity at the source (a removed time entry touches its ticket)."""
        with self.lock:
            item = getattr(self, table).pop(item_id)
            if table == "time_entries" and item["ticketID"] in self.tickets:
                self.tickets[item["ticketID"]]["lastActivityDate"] = _now()


def generate(companies: int = 3, contacts_per_company: int = 3, tickets_per_company: int = 2,
             entries_per_ticket: int = 3) -> AutotaskData:
    """A deterministic world; every second contact has the *Remote Access* field set."""
    data = AutotaskData()
    stamp = "2026-10-01T09:00:00.000000Z"
    contact_id, ticket_id, entry_id = 30000, 70000, 90000
    for c in range(1, companies + 1):
        company_id = 100 + c
        data.companies[company_id] = {"id": company_id, "companyName": f"Company {c}",
                                      "companyType": 1, "isActive": True,
                                      "lastActivityDate": stamp}
        for index in range(contacts_per_company):
            contact_id += 1
            data.contacts[contact_id] = {
                "id": contact_id, "companyID": company_id, "firstName": f"User{index}",
                "lastName": f"C{c}", "emailAddress": f"user{index}@company{c}.example",
                "isActive": 1, "lastModifiedDate": stamp,
                "userDefinedFields": [{"name": "Remote Access",
                                       "value": "Yes" if index % 2 == 0 else "No"}]}
        for t in range(tickets_per_company):
            ticket_id += 1
            data.tickets[ticket_id] = {"id": ticket_id, "companyID": company_id,
                                       "ticketNumber": f"T20261001.{ticket_id:04d}",
                                       "title": f"Issue {t} at company {c}",
                                       "status": 5 if t % 2 else 8, "lastActivityDate": stamp}
            for e in range(entries_per_ticket):
                entry_id += 1
                data.time_entries[entry_id] = {
                    "id": entry_id, "ticketID": ticket_id, "resourceID": 29682885,
                    "dateWorked": "2026-10-01T00:00:00Z",
                    "startDateTime": f"2026-10-01T{9 + e:02d}:00:00Z",
                    "hoursWorked": 0.5 + 0.25 * e, "hoursToBill": 0.5 + 0.25 * e,
                    "isNonBillable": e % 4 == 3, "summaryNotes": f"work {e} on {ticket_id}",
                    "lastModifiedDateTime": stamp}
    return data


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, str) and isinstance(right, str) and "T" in right:
        try:
            return (dt.datetime.fromisoformat(left.replace("Z", "+00:00")),
                    dt.datetime.fromisoformat(right.replace("Z", "+00:00")))
        except ValueError:
            pass
    return left, right


def matches(item: dict[str, Any], condition: dict[str, Any]) -> bool:
    """Does ``item`` satisfy one Autotask query condition (recursively for and/or)?"""
    op = condition.get("op", "").lower()
    if op in ("and", "or"):
        results = [matches(item, c) for c in condition.get("items", [])]
        return all(results) if op == "and" else any(results)
    name = condition.get("field")
    if name is None:
        raise HTTPException(500, detail="filter condition without field")
    actual = item.get(name)
    wanted = condition.get("value")
    if op == "exist":
        return actual is not None
    if op == "notexist":
        return actual is None
    if op in ("in", "notin"):
        found = actual in (wanted or [])
        return found if op == "in" else not found
    if op == "contains":
        return str(wanted).lower() in str(actual or "").lower()
    if actual is None:
        return False
    left, right = _comparable(actual, wanted)
    try:
        return {"eq": left == right, "noteq": left != right, "gt": left > right,
                "gte": left >= right, "lt": left < right, "lte": left <= right}[op]
    except KeyError:
        raise HTTPException(500, detail=f"unknown filter operator {op!r}") from None


def create_app(data: AutotaskData, control: SandboxControl | None = None) -> FastAPI:
    """The sandbox app serving ``data``."""
    app = FastAPI(title="Autotask PSA sandbox")
    install(app, control)
    vendor_errors(app, lambda _request, exc: {"errors": [str(exc.detail)]})

    def authorise(request: Request) -> None:
        headers = request.headers
        if (headers.get("apiintegrationcode") != data.integration_code
                or headers.get("username") != data.username
                or headers.get("secret") != data.secret):
            raise HTTPException(401, detail="User is not authorized")

    def run_query(request: Request, entity: str, search: dict[str, Any]) -> dict[str, Any]:
        if entity not in ENTITIES:
            raise HTTPException(404, detail=f"unknown entity {entity}")
        filters = search.get("filter") or search.get("Filter")
        if not filters:
            raise HTTPException(500, detail="a query needs at least one filter")
        size = int(search.get("MaxRecords") or MAX_RECORDS)
        if size < 1 or size > MAX_RECORDS:
            raise HTTPException(500, detail=f"MaxRecords must be 1..{MAX_RECORDS}")
        with data.lock:
            table = getattr(data, ENTITIES[entity])
            hits = [table[i] for i in sorted(table) if all(matches(table[i], f) for f in filters)]
        page = hits[:size]
        next_url = None
        if len(hits) > size:
            follow = {"MaxRecords": size, "filter": [
                {"op": "and", "items": list(filters)},
                {"op": "gt", "field": "id", "value": page[-1]["id"]}]}
            base = str(request.base_url).rstrip("/")
            next_url = f"{base}/V1.0/{entity}/query?search={quote(json.dumps(follow))}"
        return {"items": page, "pageDetails": {"count": len(page), "requestCount": size,
                                               "prevPageUrl": None, "nextPageUrl": next_url}}

    @app.get("/V1.0/ZoneInformation")
    def zone_information(request: Request, user: str = Query(...)) -> dict[str, Any]:
        if user.strip().lower() != data.username.lower():
            raise HTTPException(404, detail=f"no zone information for user {user!r}")
        base = str(request.base_url).rstrip("/")
        return {"zoneName": "Sandbox Zone", "url": f"{base}/", "webUrl": f"{base}/web/",
                "ci": 12345}

    @app.post("/V1.0/{entity}/query")
    async def query_post(entity: str, request: Request) -> dict[str, Any]:
        authorise(request)
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise HTTPException(400, detail="body is not JSON") from None
        return run_query(request, entity, body)

    @app.get("/V1.0/{entity}/query")
    def query_get(entity: str, request: Request, search: str = Query(...)) -> dict[str, Any]:
        authorise(request)
        return run_query(request, entity, json.loads(search))

    return app


if __name__ == "__main__":  # pragma: no cover - manual demo: python -m hub_autotask.sandbox
    import uvicorn

    uvicorn.run(create_app(generate(20, 5, 3, 4)), host="127.0.0.1", port=8803)
