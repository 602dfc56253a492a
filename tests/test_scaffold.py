"""``hub plugin new``: names are validated, the files are written (never over others), and the
build requirements say what builds it."""

from __future__ import annotations

import tomllib

import pytest

from hub.cli.main import main
from hub.errors import ValidationFailed
from hub.scaffold import names_for, scaffold


def test_names_are_validated_and_derived():
    names = names_for("acme-rmm")
    assert (names.name, names.package, names.distribution, names.class_name) == \
        ("acme_rmm", "hub_acme_rmm", "hub-plugin-acme-rmm", "AcmeRmm")
    with pytest.raises(ValidationFailed):
        names_for("1bad")


def test_the_cli_writes_the_plugin_and_never_overwrites(tmp_path, capsys):
    assert main(["plugin", "new", "acme", "--dir", str(tmp_path)]) == 0
    root = tmp_path / "acme"
    assert (root / "pyproject.toml").read_text().count('acme = "hub_acme.plugin"') == 1
    assert (root / "hub_acme" / "plugin.py").exists()
    assert (root / "tests" / "test_acme_plugin.py").exists()
    compile((root / "hub_acme" / "sandbox.py").read_text(), "sandbox.py", "exec")
    assert main(["plugin", "new", "acme", "--dir", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_the_scaffold_asks_for_a_setuptools_that_builds_wheels_and_for_pytest(tmp_path):
    scaffold("acme", tmp_path)
    project = tomllib.loads((tmp_path / "acme" / "pyproject.toml").read_text())
    # 70.1 is the first setuptools that builds a wheel without the separate `wheel` package
    assert project["build-system"]["requires"] == ["setuptools>=70.1"]
    assert project["project"]["optional-dependencies"]["test"] == ["pytest"]


# Installing it, listing it and running its tests — in a fresh virtual environment, exactly as
# docs/writing-plugins.md says — is tests/test_writing_plugins_guide.py.
