"""Step 3: hub_charge_payment_method against the sandbox, through the official library."""

import datetime as dt

import pytest

from hub import ChargeRequest, ChargeStatus, Money, PermanentError
from hub_payments_stripe import charges
from hub_payments_stripe.client import client_for


def _profile(kit, token="pm_card_visa"):
    client = client_for(kit.connection)
    customer = client.v1.customers.create(params={"name": "Acme"})
    pm = client.v1.payment_methods.attach(token, params={"customer": customer.id})
    return customer.id, pm.id


def _request(customer, pm, *, invoice_id=41, attempt=1, amount=Money("120.50", "USD")):
    return ChargeRequest(invoice_id=invoice_id, invoice_number=f"2026010000{invoice_id}",
                         organisation_id=9, amount=amount, customer_ref=customer,
                         payment_method_ref=pm, attempt=attempt,
                         idempotency_key=f"hub-invoice-{invoice_id}-attempt-{attempt}")


def test_succeeded_with_confirm_off_session_key_and_metadata(kit):
    customer, pm = _profile(kit)
    outcome = charges.charge_payment_method(kit.connection, _request(customer, pm))
    assert outcome.status is ChargeStatus.succeeded and outcome.object_id.startswith("pi_")
    method, path, params = next(r for r in kit.sandbox.requests if r[1] == "/v1/payment_intents")
    assert params["confirm"] == "true" and params["off_session"] == "true"
    assert params["amount"] == "12050" and params["currency"] == "usd"
    assert params["metadata"]["hub_invoice_id"] == "41"
    assert params["metadata"]["hub_organisation_id"] == "9"
    saved = kit.sandbox.store["payment_intent"][outcome.object_id]
    assert saved["status"] == "succeeded" and saved["amount_received"] == 12050


def test_zero_decimal_currency_is_sent_unscaled(kit):
    customer, pm = _profile(kit)
    outcome = charges.charge_payment_method(
        kit.connection, _request(customer, pm, amount=Money("15000", "JPY")))
    assert kit.sandbox.store["payment_intent"][outcome.object_id]["amount"] == 15000


def test_processing_bank_debit(kit):
    customer, pm = _profile(kit, "pm_usBankAccount")
    outcome = charges.charge_payment_method(kit.connection, _request(customer, pm))
    assert outcome.status is ChargeStatus.processing


def test_sca_needed_off_session_is_requires_action(kit):
    customer, pm = _profile(kit, "pm_card_authenticationRequired")
    outcome = charges.charge_payment_method(kit.connection, _request(customer, pm))
    assert outcome.status is ChargeStatus.requires_action
    assert outcome.object_id.startswith("pi_") and "authenticat" in outcome.message
    assert outcome.retry_after is None  # no dunning: the customer has to act


def test_decline_carries_stripe_message_and_dunning_wait(kit):
    kit.connection.clock = lambda: dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.timezone.utc)
    customer, pm = _profile(kit, "pm_card_chargeDeclinedInsufficientFunds")
    first = charges.charge_payment_method(kit.connection, _request(customer, pm, attempt=1))
    assert first.status is ChargeStatus.declined
    assert "insufficient funds" in first.message and "insufficient_funds" in first.message
    assert first.retry_after == 3 * 86400       # dunning: 3 days after attempt 1
    last = charges.charge_payment_method(kit.connection, _request(customer, pm, attempt=4))
    assert last.status is ChargeStatus.declined and last.retry_after is None
    assert "no more automatic retries" in last.message


def test_hard_decline_stops_dunning_at_once(kit):
    customer, pm = _profile(kit, "pm_card_chargeDeclinedExpiredCard")
    outcome = charges.charge_payment_method(kit.connection, _request(customer, pm))
    assert outcome.status is ChargeStatus.declined and outcome.retry_after is None
    assert "new payment method" in outcome.message


@pytest.mark.parametrize("status, retry_after", [(500, 1.0), (503, 1.0), (429, 1.0)])
def test_server_errors_and_rate_limit_are_retry(kit, status, retry_after):
    customer, pm = _profile(kit)
    kit.sandbox.inject(status, path_prefix="/v1/payment_intents")
    outcome = charges.charge_payment_method(kit.connection, _request(customer, pm))
    assert outcome.status is ChargeStatus.retry and outcome.retry_after == retry_after
    assert kit.sandbox.charges() == []


def test_network_error_is_retry(kit):
    customer, pm = _profile(kit)
    kit.network.refuse()
    outcome = charges.charge_payment_method(kit.connection, _request(customer, pm))
    assert outcome.status is ChargeStatus.retry and "could not reach" in outcome.message


def test_unknown_payment_method_is_a_permanent_error(kit):
    customer, _ = _profile(kit)
    with pytest.raises(PermanentError, match="No such PaymentMethod"):
        charges.charge_payment_method(kit.connection, _request(customer, "pm_missing"))


def test_reused_key_with_other_amount_is_a_permanent_error_with_a_hint(kit):
    customer, pm = _profile(kit)
    charges.charge_payment_method(kit.connection, _request(customer, pm))
    with pytest.raises(PermanentError) as info:
        charges.charge_payment_method(kit.connection,
                                      _request(customer, pm, amount=Money("99.00", "USD")))
    assert "new attempt" in info.value.hint


def test_amount_with_too_many_decimals_is_refused_before_calling_stripe(kit):
    customer, pm = _profile(kit)
    with pytest.raises(PermanentError, match="round"):
        charges.charge_payment_method(kit.connection,
                                      _request(customer, pm, amount=Money("10.005", "USD")))
    assert not any(r[1] == "/v1/payment_intents" for r in kit.sandbox.requests)


def test_burst_over_the_rate_limit_retries_to_exactly_one_charge_each():
    from hub_payments_stripe.testing import make_kit

    second = [0.0]  # the sandbox's rate-limit clock: one loop round per second
    kit = make_kit(rate_limit=5, rate_clock=lambda: second[0])
    try:
        customer, pm = _profile(kit)
        second[0] += 1
        pending = {i: _request(customer, pm, invoice_id=i) for i in range(1, 16)}
        retries, rounds = 0, 0
        while pending and rounds < 10:
            for invoice_id, request in list(pending.items()):
                outcome = charges.charge_payment_method(kit.connection, request)
                if outcome.status is ChargeStatus.retry:
                    retries += 1
                    assert outcome.retry_after == 1.0
                    continue
                assert outcome.status is ChargeStatus.succeeded
                del pending[invoice_id]
            second[0] += 1
            rounds += 1
        assert not pending and rounds == 3  # 5 a second: three seconds for 15 charges
        assert retries == 10 + 5            # 10 refused in the first second, 5 in the second
        assert len(kit.sandbox.charges()) == 15
    finally:
        kit.close()
