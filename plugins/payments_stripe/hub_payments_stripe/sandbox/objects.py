"""Stripe objects as the sandbox returns them: Stripe's own example objects (``fixtures3.json``,
published with ``spec3.yaml``) with our values laid over them, so every field the spec requires
is present with the right type."""

from __future__ import annotations

import copy
import json
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from hub_payments_stripe.sandbox.spec import PACKAGED_SPEC, default_spec_path

__all__ = ["new_id", "fixture", "build", "error_body", "card_details", "TestCard", "TEST_CARDS"]


def new_id(prefix: str) -> str:
    """A Stripe-looking id: ``pi_`` + 24 random characters."""
    return f"{prefix}_{secrets.token_hex(12)}"


@lru_cache(maxsize=1)
def _fixtures() -> dict[str, Any]:
    """Stripe's fixtures3.json: the one beside the spec in use, else the packaged one (a
    ``HUB_STRIPE_SPEC`` without fixtures beside it, or one that is not there: ``hub demo``
    then runs the sandbox without checking requests, and still needs its objects)."""
    path = Path(default_spec_path()).with_name("fixtures3.json")
    if not path.is_file():
        path = PACKAGED_SPEC.with_name("fixtures3.json")
    return json.loads(path.read_text(encoding="utf-8"))["resources"]


def fixture(kind: str) -> dict[str, Any]:
    """A fresh deep copy of Stripe's example ``kind`` object (e.g. ``"payment_intent"``)."""
    return copy.deepcopy(_fixtures()[kind])


def build(kind: str, **values: Any) -> dict[str, Any]:
    """Stripe's example ``kind`` with ``values`` laid over it (unknown fields refused)."""
    obj = fixture(kind)
    unknown = set(values) - set(obj)
    if unknown:
        raise KeyError(f"{kind} has no fields {sorted(unknown)} in Stripe's example object")
    obj.update(values)
    return obj


def error_body(type_: str, message: str, *, code: str | None = None, param: str | None = None,
               **extra: Any) -> dict[str, Any]:
    """Stripe's error envelope ``{"error": {...}}``."""
    error: dict[str, Any] = {"type": type_, "message": message}
    if code:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    if param:
        error["param"] = param
    error.update({k: v for k, v in extra.items() if v is not None})
    return {"error": error}


class TestCard:
    """How a test payment method behaves when charged (Stripe's ``pm_card_*`` tokens)."""

    __test__ = False  # not a pytest class

    def __init__(self, brand: str, last4: str, outcome: str, *, decline_code: str | None = None,
                 message: str | None = None, pm_type: str = "card") -> None:
        self.brand, self.last4, self.outcome = brand, last4, outcome
        self.decline_code, self.message, self.pm_type = decline_code, message, pm_type


#: outcome: ``succeed``, ``decline``, ``authenticate`` (needs the customer: SCA) or ``process``
#: (settles later, like a bank debit; see :meth:`StripeSandbox.settle`).
TEST_CARDS: dict[str, TestCard] = {
    "pm_card_visa": TestCard("visa", "4242", "succeed"),
    "pm_card_mastercard": TestCard("mastercard", "4444", "succeed"),
    "pm_card_amex": TestCard("amex", "8431", "succeed"),
    "pm_card_chargeDeclined": TestCard("visa", "0002", "decline", decline_code="generic_decline",
                                       message="Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": TestCard(
        "visa", "9995", "decline", decline_code="insufficient_funds",
        message="Your card has insufficient funds."),
    "pm_card_chargeDeclinedExpiredCard": TestCard(
        "visa", "0069", "decline", decline_code="expired_card", message="Your card has expired."),
    "pm_card_authenticationRequired": TestCard(
        "visa", "3184", "authenticate", decline_code="authentication_required",
        message="Your card was declined. This transaction requires authentication."),
    "pm_usBankAccount": TestCard("us_bank_account", "6789", "process", pm_type="us_bank_account"),
}


def card_details(card: TestCard, exp_month: int, exp_year: int) -> dict[str, Any]:
    """The ``card`` hash of a payment method."""
    details = fixture("payment_method")["card"]
    details.update(brand=card.brand, last4=card.last4, exp_month=exp_month, exp_year=exp_year,
                   fingerprint=secrets.token_hex(8), networks={"available": [card.brand],
                                                                "preferred": None})
    return details
