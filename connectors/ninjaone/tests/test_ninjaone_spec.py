"""The NinjaOne sandbox answers, and the connector asks, as NinjaOne's own API description says
(``shared/specs/ninjaone/ninjaone-api-core-resources.yaml``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hub.contract.connections import Connection
from hub.testing.vendors import assert_matches_schema, serve_sandbox
from hub_ninjaone.client import NinjaOneClient
from hub_ninjaone.sandbox import create_app, generate
from hub_ninjaone.settings import NinjaOneSettings

SPEC = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "ninjaone" / \
    "ninjaone-api-core-resources.yaml"
pytestmark = pytest.mark.skipif(not SPEC.exists(), reason=f"vendor spec not found at {SPEC}")


@pytest.fixture(scope="module")
def spec():
    return yaml.load(SPEC.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def test_sandbox_objects_match_the_spec_schemas(spec):
    data = generate(organisations=2, devices_per_organisation=11)
    for organisation in data.organizations.values():
        assert_matches_schema(spec, "Organization", organisation)
    for device in data.devices.values():
        assert_matches_schema(spec, "NodeWithDetailedReferences", device)
        references = device["references"]
        assert_matches_schema(spec, "NodeRole", references["role"])
        assert_matches_schema(spec, "Policy", references["policy"])


def test_the_connector_sends_only_parameters_the_spec_declares(spec):
    world = generate(organisations=2, devices_per_organisation=3)  # all with an OS
    with serve_sandbox(create_app, world) as (data, control, url):
        client = NinjaOneClient(Connection(name="n", plugin="ninjaone", settings=NinjaOneSettings(
            base_url=url, client_id=data.client_id, client_secret=data.client_secret,
            page_size=2)))
        try:
            client.organisations_page(None)
            client.devices_page(1001, device_filter="org = 1")
            systems = client.operating_systems(sorted(data.devices))
        finally:
            client.close()
    assert len(systems) == len(data.devices)
    for row in systems.values():
        assert_matches_schema(spec, "DeviceOperatingSystem", row)
    for method, path, query in control.requests:
        if path == "/ws/oauth/token":
            continue
        operation = spec["paths"][path][method.lower()]
        declared = {p["name"] for p in operation.get("parameters", [])}
        assert set(query) <= declared, f"{path}: {set(query) - declared} not in the spec"
