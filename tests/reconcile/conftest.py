"""Fixtures of the reconciliation tests: the seeded scenario of ``reconcile_scenario.py``
(one planted difference of each kind) and the ``hub`` CLI with its context injected."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent


def _load(name: str, path: Path):
    """Import a helper module of this folder by path (tests use --import-mode=importlib)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def scenario_module():
    """tests/reconcile/reconcile_scenario.py as a module."""
    return _load("hub_reconcile_scenario", HERE / "reconcile_scenario.py")


@dataclass
class Scenario:
    """What was seeded, and what the report must say."""

    ctx: Any
    systems: Any
    ids: dict
    expected: dict  # (section, kind) -> money at stake


@pytest.fixture
def scenario(scenario_module, make_hub_context, hub_clock) -> Scenario:
    """The seeded hub (SQLite), the fake systems and the expected report."""
    m = scenario_module
    hub_clock.set(m.TODAY)
    systems = m.FakeSystems(documents=m.external_documents())
    ctx = make_hub_context(systems, connections=m.CONNECTIONS)
    ids = m.seed(ctx.engine)
    systems.usage[(ids["acme"], "M365-BP")] = "45"
    return Scenario(ctx, systems, ids, dict(m.EXPECTED))


@pytest.fixture
def cli(scenario):
    """Invoke ``hub ...`` with the scenario's context injected; returns a function."""
    from typer.testing import CliRunner

    from hub.cli import state
    from hub.cli.main import build_app

    app = build_app(with_plugins=False)
    runner = CliRunner()

    def invoke(*args: str):
        state.reset()
        state.state._context = scenario.ctx
        return runner.invoke(app, list(args))

    yield invoke
    state.reset()
