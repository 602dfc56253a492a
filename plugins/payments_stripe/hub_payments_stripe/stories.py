"""Payment stories acted out at the sandbox through the plugin's own hooks: the material of the
convergence tests and of ``bench/``. Each story is what happens to one invoice."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hub import ChargeRequest, ChargeStatus, Money, RefundRequest

from hub_payments_stripe import plugin
from hub_payments_stripe.client import client_for
from hub_payments_stripe.testing import StripeKit

__all__ = ["STORIES_500", "CARD_FOR", "Invoice", "Storyteller"]

#: story -> invoices; with five invoices per organisation this makes exactly 500 Stripe events.
STORIES_500 = {"paid": 37, "dispute_won": 15, "partial_refund": 10, "full_refund": 5,
               "dispute_lost": 8, "bank_paid": 10, "bank_failed": 5, "declined": 5,
               "retry_paid": 5}

CARD_FOR = {"paid": "pm_card_visa", "dispute_won": "pm_card_visa",
            "partial_refund": "pm_card_visa", "full_refund": "pm_card_visa",
            "dispute_lost": "pm_card_visa", "bank_paid": "pm_usBankAccount",
            "bank_failed": "pm_usBankAccount", "declined": "pm_card_chargeDeclined",
            "retry_paid": "pm_card_chargeDeclined"}


@dataclass(frozen=True)
class Invoice:
    """What a story needs to know of a hub invoice."""

    id: int
    organisation_id: int
    story: str
    total: Money


def _expect(outcome, status, story: str):
    if outcome.status != status:
        raise RuntimeError(f"story {story!r} expected {status}, Stripe answered {outcome!r}")
    return outcome


@dataclass
class Storyteller:
    """Acts out stories; one Stripe customer and card per organisation."""

    kit: StripeKit
    customers: dict[int, tuple[str, str]] = field(default_factory=dict)
    new_cards: dict[int, str] = field(default_factory=dict)

    def charge(self, invoice: Invoice, payment_method: str, attempt: int = 1):
        """The auto-charge of ``invoice`` (attempt ``attempt``) through the hook."""
        customer = self.customers[invoice.organisation_id][0]
        return plugin.hub_charge_payment_method(self.kit.connection, ChargeRequest(
            invoice_id=invoice.id, invoice_number=f"INV{invoice.id:04d}",
            organisation_id=invoice.organisation_id, amount=invoice.total, customer_ref=customer,
            payment_method_ref=payment_method, attempt=attempt,
            idempotency_key=f"hub-invoice-{invoice.id}-attempt-{attempt}"))

    def play(self, invoice: Invoice) -> str:
        """Act out ``invoice.story``; returns the PaymentIntent id that finally took the money
        (or the last one tried)."""
        client, sandbox = client_for(self.kit.connection), self.kit.sandbox
        org = invoice.organisation_id
        if org not in self.customers:
            customer = client.v1.customers.create(
                params={"metadata": {"hub_organisation_id": str(org)}})
            card = client.v1.payment_methods.attach(CARD_FOR[invoice.story],
                                                    params={"customer": customer.id})
            self.customers[org] = (customer.id, card.id)
        outcome = self.charge(invoice, self.customers[org][1])
        story = invoice.story
        if story == "retry_paid":
            _expect(outcome, ChargeStatus.declined, story)
            if org not in self.new_cards:  # the organisation puts in a new card, once
                self.new_cards[org] = client.v1.payment_methods.attach(
                    "pm_card_visa", params={"customer": self.customers[org][0]}).id
            outcome = _expect(self.charge(invoice, self.new_cards[org], attempt=2),
                              ChargeStatus.succeeded, story)
        elif story in ("bank_paid", "bank_failed"):
            _expect(outcome, ChargeStatus.processing, story)
            sandbox.settle(outcome.object_id, succeed=story == "bank_paid")
        elif story in ("partial_refund", "full_refund"):
            part = invoice.total if story == "full_refund" else Money(
                (invoice.total.amount * Decimal("0.4")).quantize(Decimal("0.01")),
                invoice.total.currency)
            result = plugin.hub_refund_payment(self.kit.connection, RefundRequest(
                payment_id=invoice.id, payment_object_id=outcome.object_id, amount=part,
                idempotency_key=f"hub-refund-{invoice.id}"))
            _expect(result, "succeeded", story)
        elif story in ("dispute_won", "dispute_lost"):
            dispute = sandbox.open_dispute(outcome.object_id)
            sandbox.close_dispute(dispute["id"], won=story == "dispute_won")
        return outcome.object_id
