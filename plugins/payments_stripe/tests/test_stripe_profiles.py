"""Stripe's side of payment profiles: customer once, Setup Intent, attach by id, card facts."""

import pytest

from hub import PermanentError
from hub_payments_stripe import profiles


def test_customer_is_created_once_per_organisation(kit):
    first = profiles.ensure_customer(kit.connection, 12, name="Acme", email="ap@acme.test")
    again = profiles.ensure_customer(kit.connection, 12, name="Acme", email="ap@acme.test")
    assert first == again and len(kit.sandbox.store["customer"]) == 1
    assert kit.sandbox.store["customer"][first]["metadata"] == {"hub_organisation_id": "12"}


def test_setup_intent_then_describe_the_saved_card(kit):
    customer = profiles.ensure_customer(kit.connection, 1, name="Acme")
    setup_id, secret = profiles.start_setup(kit.connection, customer, 1)
    assert secret.startswith(setup_id)
    # the hosted page / Elements confirms it with the card the customer typed
    kit.sandbox.handle("post", f"/v1/setup_intents/{setup_id}/confirm",
                       "payment_method=pm_card_mastercard",
                       {"Authorization": f"Bearer {kit.sandbox.api_key}"})
    pm = kit.sandbox.store["setup_intent"][setup_id]["payment_method"]
    card = profiles.describe_payment_method(kit.connection, pm)
    assert (card.customer_ref, card.brand, card.last4) == (customer, "mastercard", "4444")
    assert 1 <= card.exp_month <= 12


def test_attach_by_id_makes_it_the_customers_default(kit):
    customer = profiles.ensure_customer(kit.connection, 1, name="Acme")
    card = profiles.attach_payment_method(kit.connection, customer, "pm_card_visa")
    assert card.last4 == "4242" and card.payment_method_ref.startswith("pm_")
    saved = kit.sandbox.store["customer"][customer]["invoice_settings"]["default_payment_method"]
    assert saved == card.payment_method_ref


def test_bank_account_has_no_expiry_to_remind(kit):
    customer = profiles.ensure_customer(kit.connection, 1, name="Acme")
    card = profiles.attach_payment_method(kit.connection, customer, "pm_usBankAccount")
    assert (card.brand, card.exp_year) == ("us_bank_account", 2199)


def test_unknown_payment_method_is_a_clear_error(kit):
    customer = profiles.ensure_customer(kit.connection, 1, name="Acme")
    with pytest.raises(PermanentError, match="No such PaymentMethod"):
        profiles.attach_payment_method(kit.connection, customer, "pm_nothing")
