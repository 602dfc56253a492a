"""Fixtures for the Xero plugin's tests: a sandbox per test, served on 127.0.0.1, whose schema
check fails the test on any request that does not match xero_accounting.yaml."""

from __future__ import annotations

import pytest

from hub_accounting_xero.sandbox import XeroSandbox


@pytest.fixture
def sandbox():
    """A fresh Xero sandbox (time x60); fails the test if any request broke the spec."""
    box = XeroSandbox(scale=60, unique_numbers=False)
    yield box
    assert not box.schema_violations, f"requests broke xero_accounting.yaml: {box.schema_violations}"


@pytest.fixture
def xero_url(sandbox):
    """The sandbox's URL while it runs with uvicorn in a thread."""
    with sandbox.serve() as url:
        yield url
