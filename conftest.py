"""The hub's own test suite sees only the plugins its ``requirements.txt`` installs.

A plugin installed beside the hub (one an author is writing, registering its own connection
types) must not change the suite's results, so every plugin host the tests build — and every
``hub`` subprocess they start — loads entry points only from the hub's distributions and the
throwaway ``FakeDistribution``s of the tests themselves (see :mod:`hub.testing.isolation`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.testing.isolation import distributions_of, only_distributions

ROOT = Path(__file__).parent


@pytest.fixture(scope="session", autouse=True)
def _only_the_hubs_own_plugins():
    with only_distributions(distributions_of(ROOT / "requirements.txt")):
        yield
