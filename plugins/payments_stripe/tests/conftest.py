"""Fixtures for the Stripe plugin's tests (the kit itself ships in hub_payments_stripe.testing)."""

import pytest

from hub_payments_stripe.testing import make_kit


@pytest.fixture
def kit():
    """A sandbox Stripe account and a connection to it; closed after the test."""
    made = make_kit()
    yield made
    made.close()
