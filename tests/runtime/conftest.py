"""Fixtures of the runtime tests: the sandbox accounting plugin and seeded invoices."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def load_module(name: str, path: Path):
    """Import a helper module of this folder by path (tests use --import-mode=importlib)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sandbox_module():
    """tests/runtime/sandbox_accounting.py as a module (it is also the throwaway plugin)."""
    return load_module("hub_runtime_sandbox_accounting", HERE / "sandbox_accounting.py")


@pytest.fixture(scope="session")
def seeding():
    """tests/runtime/seeding.py: invoices and outbox rows for push tests."""
    return load_module("hub_runtime_seeding", HERE / "seeding.py")
