"""Meta-tests that keep the plugin contract honest (datasette's idea).

Every hookspec must be documented (a docstring that states its calling semantics) and be
exercised by at least one test somewhere in the repository.
"""

import inspect
import re
from pathlib import Path

import pytest

from hub.contract import hookspecs

ROOT = Path(__file__).resolve().parents[2]
SEMANTICS = ("**collect**", "**first result**", "**broadcast**")


def _specs():
    return [(name, fn) for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
            if name.startswith("hub_")]


def test_there_are_hookspecs():
    assert len(_specs()) >= 15


@pytest.mark.parametrize("name,spec", _specs())
def test_hookspec_is_documented_with_its_calling_semantics(name, spec):
    doc = inspect.getdoc(spec) or ""
    assert len(doc) > 40, f"{name} needs a docstring saying what it returns"
    assert any(word in doc for word in SEMANTICS), f"{name} must state collect/first result/broadcast"
    firstresult = getattr(spec, "hub_spec", {}).get("firstresult", False)
    assert ("**first result**" in doc) == firstresult, f"{name}: docstring and firstresult disagree"


def _test_sources() -> str:
    texts = []
    for folder in ("tests", "plugins", "connectors"):
        for path in (ROOT / folder).rglob("test_*.py"):
            if path.name != Path(__file__).name:
                texts.append(path.read_text(encoding="utf-8"))
    return "\n".join(texts)


@pytest.mark.parametrize("name", [name for name, _ in _specs()])
def test_hookspec_has_a_test(name):
    assert re.search(rf"\b{name}\b", _test_sources()), f"no test mentions {name}"


def test_hook_names_carry_the_project_prefix():
    for name, _ in _specs():
        assert name.startswith("hub_")
