"""A real browser for tests: Debian's chromium driven by Playwright.

:func:`launch_chromium` starts it headless with the flags a sandboxed CI machine needs. Without
a browser the caller's test skips — or fails when ``HUB_TEST_REQUIRE_SERVICES=1`` (CI), exactly
as the PostgreSQL and Redis fixtures do, so a CI run never passes by skipping its browser tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "chromium_path", "launch_chromium"]

#: Where Debian installs chromium (``apt-get install chromium``).
CHROMIUM = Path("/usr/bin/chromium")
#: Headless, no sandbox (containers run as root), nothing fetched from the network by itself.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _missing(why: str) -> None:
    from hub.testing.pytest_plugin import REQUIRE_ENV

    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"a browser is required ({REQUIRE_ENV}=1) but {why}")
    pytest.skip(f"browser tests need chromium: {why}")


def chromium_path() -> str:
    """The chromium executable (``HUB_TEST_CHROMIUM`` overrides), or skip/fail the test."""
    path = os.environ.get("HUB_TEST_CHROMIUM") or (str(CHROMIUM) if CHROMIUM.exists()
                                                   else shutil.which("chromium"))
    if not path or not Path(path).exists():
        _missing(f"{path or CHROMIUM} is not installed (apt-get install chromium "
                 "chromium-driver)")
    return path


def launch_chromium(playwright):
    """A headless chromium browser from ``playwright`` (a ``sync_playwright()`` object)."""
    from playwright.sync_api import Error

    path = chromium_path()
    try:
        return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
    except Error as exc:
        _missing(f"chromium at {path} did not start: {exc}")
        raise
