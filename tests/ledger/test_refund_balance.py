"""Paying account credit back (seed 002: "payments with a negative value are displayed with the
label Refund"): a customer who overpaid, or whose credit note left credit no invoice will use,
gets the money back with ``hub payment refund-balance``. It is a negative payment drawn from
the oldest free credit; more than the free credit, a far date or a bad amount is refused with
nothing stored."""

from __future__ import annotations

import json

import pytest

from hub.testing.cli import real_cli
from hub.testing.snapshots import every_row

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


def _rows(tmp_path) -> dict:
    return every_row(tmp_path / "data" / "hub.sqlite")


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
    before = _rows(tmp_path)
    code, _, err = hub("payment", "refund-balance", *args)
    assert code == 2 and says in err, err
    assert "Traceback" not in err
    assert _rows(tmp_path) == before
