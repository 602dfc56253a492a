"""docs/writing-plugins.md works as written: its "first hour" — a fresh virtual environment, the
hub, ``hub plugin new devicecount``, the plugin installed with its test requirements, its tests,
the live counter added from the guide's code blocks, ``hub plugins`` — is run step by step, in
the guide's order; and its counter reference names every field of the records it documents."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hub.contract.records import Counted, CountedItem, CountQuery
from hub.host.plugins import DISTRIBUTIONS_ENV

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "writing-plugins.md"
_BLOCK = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```", re.S | re.M)


def _section(name: str) -> str:
    text = GUIDE.read_text(encoding="utf-8")
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    assert start in text and end in text, f"{GUIDE} lost its {name} markers"
    return text.split(start, 1)[1].split(end, 1)[0]


def guide_script() -> str:
    """The first hour as one bash script: every ``$ command`` of its console blocks, and its
    Python blocks written (``# file: PATH``) or appended (``# append to: PATH``), in order."""
    lines = ["set -ex"]
    for number, block in enumerate(_BLOCK.finditer(_section("first-hour"))):
        body = block["body"]
        if block["lang"] == "console":
            lines += [line[2:] for line in body.splitlines() if line.startswith("$ ")]
        elif block["lang"] == "python":
            first, _, code = body.partition("\n")
            target = re.fullmatch(r"# (file|append to): (\S+)", first.strip())
            assert target, f"python block {number} names no file: {first!r}"
            redirect = ">" if target[1] == "file" else ">>"
            lines.append(f"cat {redirect} {target[2]} <<'GUIDE_BLOCK_{number}'\n{code}"
                         f"GUIDE_BLOCK_{number}")
    return "\n".join(lines) + "\n"


def test_the_guide_script_has_every_step_in_order():
    script = guide_script()
    steps = ["python3 -m venv .venv", ". .venv/bin/activate", 'pip install --upgrade "setuptools',
             'pip install -c "$HUB/constraints.txt" -e "$HUB"', "hub plugin new devicecount",
             '-e "./devicecount[test]"', "python -m pytest -q devicecount/tests",
             "hub_devicecount/counter.py", "tests/test_devicecount_counter.py",
             "python -m pytest -q devicecount/tests", "hub plugins"]
    position = 0
    for step in steps:
        found = script.find(step, position)
        assert found >= 0, f"{step!r} missing or out of order in the guide's first hour"
        position = found + len(step)


def test_the_counter_reference_names_every_field():
    reference = _section("counter-reference")
    for model in (CountQuery, Counted, CountedItem):
        assert f"**`{model.__name__}`**" in reference
        for field in model.model_fields:
            assert f"`{field}`" in reference, f"{model.__name__}.{field} is not documented"
    assert "`quantity` (property)" in reference


def _author_environment(home: Path) -> dict[str, str]:
    """A shell as an author has it: no virtual environment active, nothing of this test
    session's (its venv on PATH, its plugin isolation)."""
    hub_bin = str(Path(sys.prefix) / "bin")
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", DISTRIBUTIONS_ENV)
           and not k.startswith("PYTEST_")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and p != hub_bin)
    env.update(HUB=str(ROOT), COLUMNS="200", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_the_first_hour_runs_as_the_guide_says(tmp_path):
    env = _author_environment(tmp_path)
    python3 = shutil.which("python3", path=env["PATH"])
    if python3 is None:
        pytest.skip("no python3 on PATH")
    version = subprocess.run([python3, "-c", "import sys; print(sys.version_info >= (3, 11))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    if version != "True":
        pytest.skip("the guide needs Python 3.11 or later as python3")
    work = tmp_path / "author"
    work.mkdir()
    (work / "first-hour.sh").write_text(guide_script(), encoding="utf-8")

    run = subprocess.run(["bash", "first-hour.sh"], cwd=work, env=env, capture_output=True,
                         text=True, timeout=1400)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]

    # the scaffold's own tests, then the same plus the guide's counter tests
    assert re.search(r"^2 passed", run.stdout, re.M), run.stdout[-3000:]
    assert re.search(r"^4 passed", run.stdout, re.M), run.stdout[-3000:]
    assert "devicecount" in run.stdout.split("4 passed", 1)[1]  # `hub plugins` lists it

    # the hub of that environment lists it with its type and the counter hook
    listed = subprocess.run([str(work / ".venv" / "bin" / "hub"), "plugins", "--json"],
                            cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr
    plugin = next(p for p in json.loads(listed.stdout) if p["name"] == "devicecount")
    assert plugin["distribution"] == "hub-plugin-devicecount"
    assert plugin["connection_types"] == ["devicecount"]
    assert "hub_count_assets" in plugin["hooks"] and "hub_pull_assets" in plugin["hooks"]
