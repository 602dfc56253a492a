"""What happens at Stripe without an API call from us: a bank debit settles, a cardholder
disputes, a card nears expiry or is renewed by the network. Methods of the sandbox."""

from __future__ import annotations

from typing import Any

from hub_payments_stripe.sandbox.objects import build, new_id

__all__ = ["StripeHappenings"]


class StripeHappenings:
    """Mixed into :class:`~hub_payments_stripe.sandbox.state.StripeSandbox`."""

    def settle(self, payment_intent: str, *, succeed: bool = True) -> dict[str, Any]:
        """A ``processing`` payment (bank debit) succeeds or fails."""
        with self.lock:
            pi = self.get("payment_intent", payment_intent)
            if pi["status"] != "processing":
                raise ValueError(f"{payment_intent} is {pi['status']}, not processing")
            charge = self.get("charge", pi["latest_charge"])
            if succeed:
                charge.update(status="succeeded", paid=True, captured=True,
                              amount_captured=charge["amount"], balance_transaction=new_id("txn"))
                pi.update(status="succeeded", amount_received=pi["amount"])
                self.emit("charge.succeeded", charge)
                self.emit("payment_intent.succeeded", pi)
            else:
                charge.update(status="failed", failure_code="account_closed",
                              failure_message="The customer's bank account has been closed.")
                pi.update(status="requires_payment_method", last_payment_error={
                    "type": "card_error", "code": "account_closed",
                    "message": charge["failure_message"], "charge": charge["id"]})
                self.emit("charge.failed", charge)
                self.emit("payment_intent.payment_failed", pi)
            return pi

    def settle_refund(self, refund: str, *, succeed: bool = True,
                      failure_reason: str = "expired_or_canceled_card") -> dict[str, Any]:
        """A ``pending`` refund completes (``refund.updated``); or a refund fails, also one that
        had succeeded (Stripe: the card was closed meanwhile), with its ``failure_reason``."""
        with self.lock:
            obj = self.get("refund", refund)
            previous = {"status": obj["status"]}
            obj["status"] = "succeeded" if succeed else "failed"
            if not succeed:
                obj["failure_reason"] = failure_reason
                charge = self.get("charge", obj["charge"])
                charge["amount_refunded"] -= obj["amount"]
                charge["refunded"] = False
            self.emit("refund.updated", obj, previous)
            return obj

    def open_dispute(self, payment_intent: str, *, reason: str = "fraudulent",
                     amount: int | None = None) -> dict[str, Any]:
        """The cardholder disputes the payment: ``charge.dispute.created`` (funds withdrawn)."""
        with self.lock:
            pi = self.get("payment_intent", payment_intent)
            charge = self.get("charge", pi["latest_charge"])
            dispute = build("dispute", id=new_id("dp"), created=self.now(),
                            amount=charge["amount"] if amount is None else amount,
                            charge=charge["id"], payment_intent=pi["id"],
                            currency=charge["currency"], status="needs_response", reason=reason,
                            metadata={}, is_charge_refundable=False)
            self.put("dispute", dispute)
            charge["disputed"] = True
            self.emit("charge.dispute.created", dispute)
            self.emit("charge.dispute.funds_withdrawn", dispute)
            return dispute

    def close_dispute(self, dispute: str, *, won: bool) -> dict[str, Any]:
        """The bank decides: ``charge.dispute.closed`` with status ``won`` or ``lost``."""
        with self.lock:
            obj = self.get("dispute", dispute)
            previous = {"status": obj["status"]}
            obj["status"] = "won" if won else "lost"
            self.emit("charge.dispute.closed", obj, previous)
            if won:
                self.emit("charge.dispute.funds_reinstated", obj)
            return obj

    def card_expiring(self, payment_method: str) -> dict[str, Any]:
        """Stripe's monthly notice for a card that expires at the end of next month
        (``customer.source.expiring``, whose object is the card)."""
        with self.lock:
            pm = self.get("payment_method", payment_method)
            card = {"id": pm["id"], "object": "card", "customer": pm["customer"],
                    "brand": pm["card"]["brand"].title(), "last4": pm["card"]["last4"],
                    "exp_month": pm["card"]["exp_month"], "exp_year": pm["card"]["exp_year"],
                    "metadata": {}}
            return self.emit("customer.source.expiring", card)

    def renew_card(self, payment_method: str, *, exp_month: int, exp_year: int,
                   last4: str | None = None, automatic: bool = True) -> dict[str, Any]:
        """The network sends new card details (``payment_method.automatically_updated``), or
        the customer edits them (``payment_method.updated``)."""
        with self.lock:
            pm = self.get("payment_method", payment_method)
            previous = {"card": {"exp_month": pm["card"]["exp_month"],
                                 "exp_year": pm["card"]["exp_year"]}}
            pm["card"].update(exp_month=exp_month, exp_year=exp_year)
            if last4:
                pm["card"]["last4"] = last4
            kind = "payment_method.automatically_updated" if automatic else "payment_method.updated"
            return self.emit(kind, pm, previous)

    def charges(self, *, payment_intent: str | None = None,
                status: str | None = "succeeded") -> list[dict]:
        """Charges held (filtered), to count what was really taken."""
        with self.lock:
            return [c for c in self.store["charge"].values()
                    if (payment_intent is None or c["payment_intent"] == payment_intent)
                    and (status is None or c["status"] == status)]
