"""The Stripe plugin's hooks (entry point ``payments_stripe`` in the ``hub`` group).

Each hook returns ``None`` for a connection that is not a Stripe one and otherwise delegates to
the module that does the work: :mod:`.webhooks`, :mod:`.charges`, :mod:`.refunds`,
:mod:`.reconcile`.
"""

from __future__ import annotations

from hub import ConnectionType, hookimpl, owns

from hub_payments_stripe.settings import StripeSettings

CONNECTION_TYPE = "stripe"


@hookimpl
def hub_register_connection_types(register):
    """Declare the ``stripe`` connection type."""
    register(ConnectionType(
        name=CONNECTION_TYPE, settings_model=StripeSettings, capabilities=frozenset({"payments"}),
        description="Stripe: auto-charge stored cards, webhooks in, refunds and disputes"))


@hookimpl
def hub_register_commands(app):
    """``hub stripe sandbox`` and ``hub stripe card`` (see :mod:`.cli`)."""
    from hub_payments_stripe.cli import register

    register(app)


@hookimpl
def hub_receive_payment(connection, request):
    """Verify a Stripe webhook and normalise its event (see :mod:`.webhooks`)."""
    if not owns(connection, CONNECTION_TYPE):
        return None
    # Each hook imports its module when called: they bring the stripe SDK, which loading the
    # plugin at every CLI start must not pay for.
    from hub_payments_stripe import webhooks

    return webhooks.receive_payment(connection, request)


@hookimpl
def hub_charge_payment_method(connection, charge):
    """Off-session PaymentIntent with the host's idempotency key (see :mod:`.charges`)."""
    if not owns(connection, CONNECTION_TYPE):
        return None
    from hub_payments_stripe import charges

    return charges.charge_payment_method(connection, charge)


@hookimpl
def hub_refund_payment(connection, refund):
    """A Stripe Refund (see :mod:`.refunds`)."""
    if not owns(connection, CONNECTION_TYPE):
        return None
    from hub_payments_stripe import refunds

    return refunds.refund_payment(connection, refund)


@hookimpl
def hub_fetch_external_documents(connection, kind, since, until):
    """Charges, refunds or disputes from Stripe for reconciliation (see :mod:`.reconcile`)."""
    if not owns(connection, CONNECTION_TYPE):
        return None
    from hub_payments_stripe import reconcile

    return reconcile.fetch_external_documents(connection, kind, since, until)
