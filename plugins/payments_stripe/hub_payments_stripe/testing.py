"""A test kit for the Stripe plugin (and for anyone building on it): a sandbox account, a
``stripe`` connection talking to it in-process over a breakable network, and webhook delivery
straight into ``hub_receive_payment``.

    kit = make_kit()
    outcome = charges.charge_payment_method(kit.connection, request)
    events = kit.deliver(kit.sandbox.webhooks.take())
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Callable, Iterable

import httpx

from hub import Connection, PaymentEvent, WebhookRequest

from hub_payments_stripe.client import use_http_client
from hub_payments_stripe.sandbox import FaultyTransport, StripeSandbox, SyncASGITransport, create_app
from hub_payments_stripe.sandbox.delivery import Delivery
from hub_payments_stripe.settings import StripeSettings
from hub_payments_stripe.webhooks import receive_payment

__all__ = ["StripeKit", "make_kit", "SANDBOX_BASE"]

SANDBOX_BASE = "http://stripe-sandbox.local"
_names = itertools.count(1)


@dataclass
class StripeKit:
    """A sandbox, the connection pointed at it and the network between them."""

    sandbox: StripeSandbox
    connection: Connection
    network: FaultyTransport
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def request(self, delivery: Delivery, *, secret: str | None = None,
                timestamp: int | None = None, headers: dict[str, str] | None = None,
                body: bytes | None = None) -> WebhookRequest:
        """The WebhookRequest the host would build for ``delivery`` (signed by the sandbox)."""
        signed = delivery.headers(secret or self.sandbox.webhooks.secret, timestamp=timestamp)
        return WebhookRequest(connection=self.connection.name,
                              headers=signed if headers is None else headers,
                              body=delivery.body if body is None else body,
                              received_at=dt.datetime.now(dt.timezone.utc))

    def deliver(self, deliveries: Iterable[Delivery]) -> list[PaymentEvent]:
        """Pass each delivery through ``hub_receive_payment``; all resulting events, in order."""
        out: list[PaymentEvent] = []
        for delivery in deliveries:
            out.extend(receive_payment(self.connection, self.request(delivery)))
        return out

    def close(self) -> None:
        """Forget the connection's HTTP client and stop the in-process server."""
        use_http_client(self.connection.name, None)
        for close in self._closers:
            close()


def make_kit(*, clock: Callable[[], dt.datetime] | None = None,
             sandbox_clock: Callable[[], float] | None = None,
             rate_limit: float | None = None, rate_clock: Callable[[], float] | None = None,
             **settings) -> StripeKit:
    """A fresh sandbox and a uniquely named ``stripe`` connection using it. ``clock`` is the
    hub's (the connection's), ``sandbox_clock`` Stripe's (unix seconds of ``created``)."""
    optional = {"clock": sandbox_clock, "rate_clock": rate_clock}
    sandbox = StripeSandbox(rate_limit=rate_limit,
                            **{k: v for k, v in optional.items() if v is not None})
    network = FaultyTransport(SyncASGITransport(create_app(sandbox)))
    name = f"stripe-test-{next(_names)}"
    config = StripeSettings(api_key=sandbox.api_key, webhook_secret=sandbox.webhooks.secret,
                            api_base=SANDBOX_BASE, **settings)
    connection = Connection(name=name, plugin="stripe", settings=config)
    if clock is not None:
        connection.clock = clock
    client = httpx.Client(transport=network, timeout=10)
    use_http_client(name, lambda: client)
    return StripeKit(sandbox, connection, network, [client.close])
