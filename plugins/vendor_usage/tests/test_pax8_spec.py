"""The Pax8 sandbox answers, and the connector asks, as Pax8's API descriptions say
(``shared/specs/pax8/*.json``)."""

from __future__ import annotations

import datetime as dt
import json
from functools import partial
from pathlib import Path

import httpx
import jsonschema
import pytest

from hub.contract.connections import Connection
from hub.testing.vendors import assert_matches_schema, serve_sandbox
from hub_vendor_usage.pax8_client import Pax8Client
from hub_vendor_usage.sandbox import create_app, generate
from hub_vendor_usage.settings import Pax8Settings

SPECS = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "pax8"
pytestmark = pytest.mark.skipif(not SPECS.exists(), reason=f"vendor specs not found at {SPECS}")
#: Fields Pax8 sends that its schema omits but its own examples show (usage-summaries-paged).
EXAMPLE_ONLY = {"UsageSummary": {"subscriptionId"}}
_check = partial(assert_matches_schema, also_declared=EXAMPLE_ONLY)


def _load(name):
    return json.loads((SPECS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def partner():
    return _load("pax8-partner-endpoints-openapi.json")


def test_sandbox_objects_match_the_spec_schemas(partner):
    data = generate(companies=3)
    for company in data.companies.values():
        _check(partner, "Company", company)
    for subscription in data.subscriptions.values():
        _check(partner, "Subscription", subscription)
    for summary in data.summaries.values():
        _check(partner, "UsageSummary", summary)
    for lines in data.lines.values():
        for line in lines:
            _check(partner, "UsageLine", line)


def test_requests_use_only_declared_parameters_and_the_token_body_is_valid(partner):
    with serve_sandbox(create_app, generate(companies=3)) as (data, control, url):
        connection = Connection(name="p", plugin="pax8", settings=Pax8Settings(
            base_url=url, client_id=data.client_id, client_secret=data.client_secret,
            page_size=2))
        client = Pax8Client(connection)
        try:
            list(client.all("/v1/companies"))
            subscriptions = list(client.all("/v1/subscriptions"))
            summary_sub = next(s for s in subscriptions if s["productName"] == "Azure plan")
            summaries = list(client.all(f"/v1/subscriptions/{summary_sub['id']}/usage-summaries"))
            client.usage_lines(summaries[0]["id"], dt.date(2026, 11, 1))
        finally:
            client.close()
    templates = {"/v1" + p: p for p in partner["paths"]}
    for method, path, query in control.requests:
        if path == "/v1/token":
            continue
        template = next(t for t in templates if _matches(t, path))
        operation = partner["paths"][templates[template]][method.lower()]
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert set(query) <= declared, f"{path}: {set(query) - declared} not in the spec"

    auth = _load("pax8-authentication-openapi.json")
    sent = []

    def handler(request):
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"access_token": "t", "expires_in": 86400,
                                         "token_type": "Bearer"})

    client = Pax8Client(Connection(name="q", plugin="pax8", settings=Pax8Settings(
        client_id="id", client_secret="secret")), transport=httpx.MockTransport(handler))
    assert client.tokens.token() == "t"
    schema = {"components": auth["components"], "$ref": "#/components/schemas/TokenRequest"}
    jsonschema.validate(sent[0], schema)


def _matches(template: str, path: str) -> bool:
    left, right = template.strip("/").split("/"), path.strip("/").split("/")
    return len(left) == len(right) and all(a == b or a.startswith("{")
                                           for a, b in zip(left, right))
