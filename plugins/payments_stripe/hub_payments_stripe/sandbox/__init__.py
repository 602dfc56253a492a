"""A local server that answers like Stripe (test mode) for what the plugin uses.

- :class:`StripeSandbox` — the account: objects, idempotency keys, faults, rate limit, events;
- :func:`create_app` — the same as a FastAPI app, for the official ``stripe`` library to call;
- :class:`SyncASGITransport` / :class:`FaultyTransport` — in-process HTTP and broken networks;
- ``sandbox.webhooks`` — every event, signed by ``stripe.WebhookSignature``, to deliver, replay,
  shuffle or duplicate.

Requests are checked against Stripe's ``spec3.yaml`` (see :mod:`.spec`).
"""

from hub_payments_stripe.sandbox.app import create_app
from hub_payments_stripe.sandbox.delivery import Delivery, WebhookOutbox
from hub_payments_stripe.sandbox.objects import TEST_CARDS, TestCard
from hub_payments_stripe.sandbox.state import TEST_MODE_RATE_LIMIT, Fault, StripeSandbox
from hub_payments_stripe.sandbox.transport import FaultyTransport, SyncASGITransport

__all__ = ["StripeSandbox", "create_app", "Delivery", "WebhookOutbox", "TEST_CARDS", "TestCard",
           "Fault", "TEST_MODE_RATE_LIMIT", "SyncASGITransport", "FaultyTransport"]
