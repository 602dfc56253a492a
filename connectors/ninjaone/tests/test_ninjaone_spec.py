"""The NinjaOne sandbox answers, and the connector asks, as NinjaOne's own API description says
(``shared/specs/ninjaone/ninjaone-api-core-resources.yaml``)."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from hub.connections import Connection
from hub.sandbox import SandboxControl, serve
from hub_ninjaone.client import NinjaOneClient
from hub_ninjaone.sandbox import create_app, generate
from hub_ninjaone.settings import NinjaOneSettings

SPEC = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "ninjaone" / \
    "ninjaone-api-core-resources.yaml"
pytestmark = pytest.mark.skipif(not SPEC.exists(), reason=f"vendor spec not found at {SPEC}")


@pytest.fixture(scope="module")
def spec():
    return yaml.load(SPEC.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def _check(spec, schema_name, instance):
    """Valid against the named schema, and no field the schema does not declare."""
    root = {"components": spec["components"], "$ref": f"#/components/schemas/{schema_name}"}
    errors = [e.message for e in jsonschema.Draft7Validator(root).iter_errors(instance)]
    assert errors == [], f"{schema_name}: {errors}"
    declared = set(spec["components"]["schemas"][schema_name]["properties"])
    assert set(instance) <= declared, f"{schema_name}: undeclared {set(instance) - declared}"


def test_sandbox_objects_match_the_spec_schemas(spec):
    data = generate(organisations=2, devices_per_organisation=11)
    for organisation in data.organizations.values():
        _check(spec, "Organization", organisation)
    for device in data.devices.values():
        _check(spec, "NodeWithDetailedReferences", device)
        references = device["references"]
        _check(spec, "NodeRole", references["role"])
        _check(spec, "Policy", references["policy"])


def test_the_connector_sends_only_parameters_the_spec_declares(spec):
    data = generate(organisations=2, devices_per_organisation=3)  # all with an OS
    control = SandboxControl()
    with serve(create_app(data, control)) as url:
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
        _check(spec, "DeviceOperatingSystem", row)
    for method, path, query in control.requests:
        if path == "/ws/oauth/token":
            continue
        operation = spec["paths"][path][method.lower()]
        declared = {p["name"] for p in operation.get("parameters", [])}
        assert set(query) <= declared, f"{path}: {set(query) - declared} not in the spec"
