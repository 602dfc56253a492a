"""``hub plugin new``: the scaffold is installable, found through entry points, listed by
``hub plugins``, and its own tests pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

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


@pytest.mark.slow
def test_the_scaffold_installs_is_listed_and_its_tests_pass(tmp_path):
    scaffold("acme", tmp_path)
    venv = tmp_path / "venv"
    # No pip of its own: the hub environment's pip installs into it (build isolation fetches
    # setuptools from the configured index).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    # The new venv sees the hub's environment (hub, pytest, fastapi...) as its site packages.
    purelib = sysconfig.get_paths()["purelib"]
    new_site = subprocess.run([str(python), "-c", "import sysconfig; "
                               "print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    Path(new_site, "hub_env.pth").write_text(f"import site; site.addsitedir({purelib!r})\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                              "--no-deps",
                              str(tmp_path / "acme")],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr

    # Only the new plugin's entry point is loaded, so someone else's broken plugin elsewhere in
    # the environment cannot make this test fail.
    probe = ("import json; from importlib.metadata import entry_points; "
             "print(json.dumps(sorted(e.name for e in entry_points(group='hub'))))")
    names = json.loads(subprocess.run([str(python), "-c", probe], capture_output=True,
                                      text=True, check=True).stdout)
    assert "acme" in names
    env = dict(os.environ, HUB_DISABLE_PLUGINS=",".join(n for n in names if n != "acme"))
    found = subprocess.run(
        [str(python), "-c", "from hub.host.plugins import build_plugin_host; "
         "host = build_plugin_host(); "
         "print([(p.name, p.distribution, p.connection_types) for p in host.plugins "
         "if not p.builtin])"], capture_output=True, text=True, env=env, timeout=120)
    assert found.returncode == 0, found.stderr
    assert "('acme', 'hub-plugin-acme', ['acme'])" in found.stdout

    listed = subprocess.run([str(python), "-c", "from hub.cli.main import main; "
                             "raise SystemExit(main(['plugins', '--json']))"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "acme" in [p["name"] for p in json.loads(listed.stdout)]

    tests = subprocess.run([str(python), "-m", "pytest", "-q", str(tmp_path / "acme" / "tests")],
                           capture_output=True, text=True, env=env, cwd=tmp_path / "acme",
                           timeout=300)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
