"""The accounting and Stripe sandboxes check requests against the vendors' own API descriptions,
which their plugins ship, so that a clone anywhere (not only one beside the project's shared
specs folder) runs the whole suite and ``hub demo`` with the checks on."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hub_accounting_quickbooks.sandbox import schema as quickbooks_schema
from hub_accounting_xero.sandbox import schema as xero_schema
from hub_payments_stripe.sandbox import spec as stripe_spec

REPO = Path(__file__).resolve().parents[2]

#: plugin folder -> (package, the shared specs sub-folder its files come from, the files)
PACKAGED = {
    "payments_stripe": ("hub_payments_stripe", "stripe", ("spec3.yaml", "fixtures3.json")),
    "accounting_xero": ("hub_accounting_xero", "xero", ("xero_accounting.yaml",)),
    "accounting_quickbooks": ("hub_accounting_quickbooks", "quickbooks", (
        "IntuitRestServiceDef.xsd", "Finance.xsd", "IntuitBaseTypes.xsd", "IntuitNamesTypes.xsd",
        "IEntity.xsd", "Report.xsd", "SalesTax.xsd", "EntitlementsResponse.xsd")),
}


def _specs_dir(plugin: str) -> Path:
    package = PACKAGED[plugin][0]
    return REPO / "plugins" / plugin / package / "sandbox" / "specs"


def _shared_specs() -> Path | None:
    for folder in REPO.parents:
        if (folder / "shared" / "specs" / "SOURCES.md").exists():
            return folder / "shared" / "specs"
    return None


@pytest.fixture
def no_overrides(monkeypatch):
    for name in (stripe_spec.SPEC_ENV, "HUB_XERO_SPEC", "HUB_QUICKBOOKS_XSD_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_the_sandboxes_read_the_specs_their_plugins_ship(no_overrides):
    assert stripe_spec.default_spec_path() == _specs_dir("payments_stripe") / "spec3.yaml"
    assert xero_schema.spec_path() == _specs_dir("accounting_xero") / "xero_accounting.yaml"
    assert quickbooks_schema.xsd_path() == \
        _specs_dir("accounting_quickbooks") / "IntuitRestServiceDef.xsd"
    for path in (stripe_spec.default_spec_path(), xero_schema.spec_path(),
                 quickbooks_schema.xsd_path()):
        assert path.is_file()


def test_an_environment_variable_points_a_sandbox_at_another_spec(monkeypatch, tmp_path):
    monkeypatch.setenv(stripe_spec.SPEC_ENV, str(tmp_path / "spec3.yaml"))
    monkeypatch.setenv("HUB_XERO_SPEC", str(tmp_path / "xero.yaml"))
    monkeypatch.setenv("HUB_QUICKBOOKS_XSD_DIR", str(tmp_path))
    assert stripe_spec.default_spec_path() == tmp_path / "spec3.yaml"
    assert xero_schema.spec_path() == tmp_path / "xero.yaml"
    assert quickbooks_schema.xsd_path() == tmp_path / "IntuitRestServiceDef.xsd"


def test_a_stripe_spec_elsewhere_keeps_the_packaged_example_objects(monkeypatch, tmp_path):
    """With ``HUB_STRIPE_SPEC`` naming a file that is not there (``hub demo`` then runs the
    sandbox without checking requests), the sandbox still builds Stripe's example objects."""
    from hub.demo.sandboxes import specs_available
    from hub_payments_stripe.sandbox import objects

    monkeypatch.setenv(stripe_spec.SPEC_ENV, str(tmp_path / "missing" / "spec3.yaml"))
    objects._fixtures.cache_clear()
    try:
        assert not specs_available()
        assert objects.fixture("payment_intent")["object"] == "payment_intent"
    finally:
        objects._fixtures.cache_clear()


@pytest.mark.parametrize("plugin", sorted(PACKAGED))
def test_each_plugin_ships_its_specs_with_their_licence(plugin):
    package, _, files = PACKAGED[plugin]
    folder = _specs_dir(plugin)
    for name in (*files, "LICENSE", "SOURCE.md"):
        assert (folder / name).is_file(), f"{folder / name} is missing"
    declared = tomllib.loads((REPO / "plugins" / plugin / "pyproject.toml").read_text())
    # a wheel (a non-editable install) carries the files only if they are package data
    assert "sandbox/specs/*" in declared["tool"]["setuptools"]["package-data"][package]


@pytest.mark.parametrize("plugin", sorted(PACKAGED))
def test_the_shipped_specs_are_the_vendors_files_byte_for_byte(plugin):
    shared = _shared_specs()
    if shared is None:
        pytest.skip("the project's shared specs folder is not beside this clone")
    _, subfolder, files = PACKAGED[plugin]
    for name in files:
        shipped = (_specs_dir(plugin) / name).read_bytes()
        assert shipped == (shared / subfolder / name).read_bytes(), f"{name} differs"
