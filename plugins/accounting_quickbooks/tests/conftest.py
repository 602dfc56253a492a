"""Fixtures for the QuickBooks plugin's tests: a sandbox per test, served on 127.0.0.1, whose XSD
check fails the test on any request body that does not match Intuit's entity schemas."""

from __future__ import annotations

import pytest

from hub_accounting_quickbooks.sandbox import QuickBooksSandbox


@pytest.fixture
def sandbox():
    """A fresh QuickBooks sandbox (time x60); fails the test if any body broke the XSDs."""
    box = QuickBooksSandbox(scale=60)
    yield box
    assert not box.schema_violations, f"requests broke Intuit's XSDs: {box.schema_violations}"


@pytest.fixture
def qbo_url(sandbox):
    """The sandbox's URL while it runs with uvicorn in a thread."""
    with sandbox.serve() as url:
        yield url
