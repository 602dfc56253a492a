"""The Autotask connector calls only the requests Autotask's collection describes, with its
headers (``shared/specs/autotask/autotask-psa-requests.json``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.contract.connections import Connection
from hub.testing.vendors import serve_sandbox
from hub_autotask import plugin
from hub_autotask.sandbox import create_app, generate
from hub_autotask.settings import AutotaskSettings

SPEC = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "autotask" / \
    "autotask-psa-requests.json"
pytestmark = pytest.mark.skipif(not SPEC.exists(), reason=f"vendor spec not found at {SPEC}")


def _requests(node, found):
    if isinstance(node, dict):
        if "http" in node and isinstance(node["http"], dict) and "url" in node["http"]:
            http = node["http"]
            found[(http["method"], http["url"].replace("{{baseUrl}}", ""))] = {
                "headers": {h["name"].lower() for h in http.get("headers", [])},
                "params": {p["name"] for p in http.get("params", []) if p.get("type") == "query"}}
        for value in node.values():
            _requests(value, found)
    elif isinstance(node, list):
        for value in node:
            _requests(value, found)
    return found


def test_every_call_is_a_described_request_with_its_headers():
    described = _requests(json.loads(SPEC.read_text(encoding="utf-8")), {})
    world = generate(companies=2, contacts_per_company=3, tickets_per_company=2,
                     entries_per_ticket=2)
    with serve_sandbox(create_app, world) as (data, control, url):
        # no base_url: the zone is looked up from the user name first
        connection = Connection(name="a", plugin="autotask", settings=AutotaskSettings(
            zone_lookup_url=url, username=data.username, secret=data.secret,
            integration_code=data.integration_code, page_size=2))
        for hook in (plugin.hub_pull_organisations, plugin.hub_pull_contacts,
                     plugin.hub_pull_tickets):
            cursor = None
            while True:
                page = hook(connection=connection, since=None, cursor=cursor)
                if page.complete:
                    break
                cursor = page.cursor
    assert {path for _, path, _ in control.requests} == {
        "/V1.0/ZoneInformation", "/V1.0/Companies/query", "/V1.0/Contacts/query", "/V1.0/Tickets/query",
        "/V1.0/TimeEntries/query"}
    for (method, path, query), headers in zip(control.requests, control.headers_seen):
        request = described.get((method, path))
        assert request is not None, f"{method} {path} is not an Autotask request"
        assert set(query) <= request["params"], f"{path}: {set(query) - request['params']}"
        needed = {"apiintegrationcode", "username", "secret"}
        assert needed <= request["headers"] and needed <= set(headers)
