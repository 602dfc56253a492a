"""Paying account credit back (seed 002: "payments with a negative value are displayed with the
label Refund"): a customer who overpaid, or whose credit note left credit no invoice will use,
gets the money back with ``hub payment refund-balance``. It is a negative payment drawn from
the oldest free credit; more than the free credit, a far date or a bad amount is refused with
nothing stored."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from hub.testing.cli import real_cli
from hub.testing.snapshots import cli_rows, every_row

SETUP = [
    ["org", "create", "Acme"],
    ["invoice", "create", "1", "--date", "2026-03-01"],
    ["invoice", "add-line", "1", "--description", "Switch", "--price", "100"],
    ["invoice", "finalise", "1"],
    ["payment", "add", "1", "160", "--date", "2026-03-02"],  # 60.00 over: account credit
]


@pytest.fixture
def hub(tmp_path, monkeypatch, capsys):
    with real_cli(tmp_path, monkeypatch, capsys, setup=SETUP) as run:
        yield run



def test_account_credit_is_paid_back_as_a_negative_payment(hub):
    code, out, err = hub("payment", "refund-balance", "1", "45", "--reason", "customer left",
                         "--date", "2026-03-10")
    assert code == 0, err
    assert "refund 2: -45.00 USD of account credit paid back to organisation 1" in out
    assert "(bank_transfer)" in out
    code, out, err = hub("payment", "list", "--format", "json")
    refund = next(p for p in json.loads(out) if p["id"] == 2)
    assert (refund["kind"], refund["date"], refund["amount"], refund["method"],
            refund["note"]) == ("refund", "2026-03-10", "-45.00", "bank_transfer",
                                "customer left")
    # the rest of the credit can still go back, and no more
    code, out, err = hub("payment", "refund-balance", "1", "15")
    assert code == 0, err
    code, _, err = hub("payment", "refund-balance", "1", "0.01")
    assert code == 2 and "credit" in err, err


@pytest.mark.parametrize("args,says", [
    (["1", "60.01"], "the account has 60.00 USD of credit, less than 60.01 USD"),
    (["1", "0"], "greater than zero"),
    (["1", "5.001"], "finer than USD allows"),
    (["1", "ten"], "'ten' is not a number"),
    (["99", "5"], "no organisation with id 99"),
    (["1", "5", "--date", "2031-01-01"], "more than a year after today"),
    (["1", "5", "--method", "teleport"], "unknown payment method 'teleport'"),
    (["1", "5", "--reason", "x" * 501], "the refund reason is 501 characters long"),
])
def test_a_refused_refund_of_credit_says_why_and_stores_nothing(hub, tmp_path, args, says):
    before = cli_rows(tmp_path)
    code, _, err = hub("payment", "refund-balance", *args)
    assert code == 2 and says in err, err
    assert "Traceback" not in err
    assert cli_rows(tmp_path) == before


# ------------------------------------------------------------------------------ REST API
@pytest.fixture
def credited(api) -> int:
    """An organisation with 60.00 USD of account credit (a payment nothing used), via the API."""
    org = api.post("/organisations", json={"name": "Acme"}).json()["id"]
    assert api.post("/payments", json={"organisation_id": org, "amount": "60.00"}
                    ).status_code == 201
    return org


def _balance(api, org: int) -> str:
    return api.get(f"/organisations/{org}/account").json()["balance"]


def test_the_api_pays_account_credit_back_once_per_key(api, credited):
    org = credited
    before = _balance(api, org)
    body = {"amount": "45.00", "reason": "customer left", "date": "2026-01-01"}
    first = api.post(f"/organisations/{org}/refund-balance", json=body,
                     headers={"Idempotency-Key": "refund-balance-1"})
    assert first.status_code == 201, first.text
    assert (first.json()["amount"], first.json()["method"]) == ("-45.00", "bank_transfer")
    again = api.post(f"/organisations/{org}/refund-balance", json=body,
                     headers={"Idempotency-Key": "refund-balance-1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    payments = api.get("/payments", params={"organisation_id": org}).json()
    assert sorted(Decimal(p["amount"]) for p in payments) == [Decimal("-45"), Decimal("60")]
    assert _balance(api, org) != before


@pytest.mark.parametrize("body,says", [
    ({"amount": "60.01"}, "less than 60.01 USD"),
    ({"amount": "0"}, "greater than 0"),
    ({"amount": "5.001"}, "finer than USD allows"),
    ({"amount": "5", "method": "teleport"}, "unknown payment method"),
    ({"amount": "5", "date": "2031-01-01"}, "more than a year after today"),
    ({"amount": "5", "reason": "x" * 501}, "at most 500"),
    ({"amount": "5", "currency": "EUR"}, "currency"),
])
def test_the_api_refuses_a_bad_refund_of_credit_with_422_and_stores_nothing(
        api, api_ctx, credited, body, says):
    before = every_row(api_ctx.engine)
    answer = api.post(f"/organisations/{credited}/refund-balance", json=body)
    assert answer.status_code == 422, answer.text
    assert says in answer.json()["detail"], answer.json()
    assert every_row(api_ctx.engine) == before


def test_the_api_shows_and_changes_the_billing_config(api, credited):
    org = credited
    shown = api.get(f"/organisations/{org}/account/config").json()
    assert (shown["blocking_days"], shown["id"]) == (0, None)
    changed = api.patch(f"/organisations/{org}/account/config",
                        json={"blocking_days": 2, "minimum_balance": "-50"})
    assert changed.status_code == 200, changed.text
    assert api.get(f"/organisations/{org}/account/config").json()["blocking_days"] == 2
    for bad in ({"blocking_days": -1}, {"holidays": ["2026-02-30"]}, {"bogus": 1},
                {"minimum_balance": "1.001"}):
        answer = api.patch(f"/organisations/{org}/account/config", json=bad)
        assert answer.status_code == 422, (bad, answer.text)
    assert api.get("/organisations/999/account/config").status_code == 404
    empty = api.patch(f"/organisations/{org}/account/config", json={})
    assert empty.status_code == 422 and "nothing to change" in empty.json()["detail"]
    huge = api.post("/organisations/99999999999999999999/refund-balance", json={"amount": "1"})
    assert huge.status_code == 422 and "organisation_id" in huge.json()["detail"], huge.text
