"""The Datto RMM sandbox answers, and the connector asks, as Datto's API description says
(``shared/specs/datto_rmm/datto-rmm-openapi.json``)."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import jsonschema
import pytest

from hub.contract.connections import Connection
from hub.testing.vendors import assert_matches_schema, serve_sandbox
from hub_datto_rmm.client import DattoRmmClient
from hub_datto_rmm.sandbox import create_app, generate
from hub_datto_rmm.settings import DattoRmmSettings

SPEC = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "datto_rmm" / \
    "datto-rmm-openapi.json"
pytestmark = pytest.mark.skipif(not SPEC.exists(), reason=f"vendor spec not found at {SPEC}")


@pytest.fixture(scope="module")
def spec():
    return json.loads(SPEC.read_text(encoding="utf-8"))


#: Datto's description is OpenAPI 3.1: JSON Schema 2020-12.
_check = partial(assert_matches_schema, validator=jsonschema.Draft202012Validator)


def test_pages_and_objects_match_the_spec(spec):
    with serve_sandbox(create_app, generate(sites=2, devices_per_site=6)) as (data, control, url):
        client = DattoRmmClient(Connection(name="d", plugin="datto_rmm", settings=DattoRmmSettings(
            base_url=url, api_key=data.api_key, api_secret=data.api_secret, page_size=5)))
        try:
            bodies = [client.http.get("/api/v2/account/sites", params={"page": 0, "max": 5}),
                      client.http.get("/api/v2/account/devices", params={"page": 1, "max": 5})]
        finally:
            client.close()
    _check(spec, "SitesPage", bodies[0])
    _check(spec, "DevicesPage", bodies[1])
    _check(spec, "PaginationData", bodies[1]["pageDetails"])
    for site in bodies[0]["sites"]:
        _check(spec, "Site", site)
    for device in bodies[1]["devices"]:
        _check(spec, "Device", device)
        _check(spec, "DevicesType", device["deviceType"])
    for method, path, query in control.requests:
        if path.startswith("/auth/"):
            continue
        operation = spec["paths"][path.removeprefix("/api")][method.lower()]
        declared = {p["name"] for p in operation.get("parameters", [])}
        assert set(query) <= declared, f"{path}: {set(query) - declared} not in the spec"
