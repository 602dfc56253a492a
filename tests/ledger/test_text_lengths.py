"""Free text has a length: a payment's reference (it goes to Xero and QuickBooks inside the
payment's reference and note), why a refund or credit note was made, a note on an invoice. A
page of pasted text is refused in the CLI (exit 2) and the API (422) with the limit, and
nothing is stored; text up to the limit is kept whole."""

from __future__ import annotations

import pytest

from hub.testing.cli import real_cli
from hub.testing.snapshots import cli_rows, every_row
from hub.validation.fields import NOTE_LENGTH, REASON_LENGTH, REFERENCE_LENGTH

SETUP = [
    ["org", "create", "Acme"],
    ["invoice", "create", "1", "--date", "2026-03-01"],
    ["invoice", "add-line", "1", "--description", "Switch", "--price", "100"],
    ["invoice", "finalise", "1"],
    ["payment", "add", "1", "100", "--invoice", "id:1"],
]


@pytest.fixture
def hub(tmp_path, monkeypatch, capsys):
    with real_cli(tmp_path, monkeypatch, capsys, setup=SETUP) as run:
        yield run



@pytest.mark.parametrize("args,what,most", [
    (["payment", "add", "1", "5", "--reference", "x" * (REFERENCE_LENGTH + 1)],
     "payment reference", REFERENCE_LENGTH),
    (["payment", "refund", "1", "--amount", "5", "--reason", "x" * (REASON_LENGTH + 1)],
     "refund reason", REASON_LENGTH),
    (["credit-note", "create", "--invoice", "id:1", "--whole",
      "--reason", "x" * (REASON_LENGTH + 1)], "credit note reason", REASON_LENGTH),
    (["invoice", "create", "1", "--note", "x" * (NOTE_LENGTH + 1)], "invoice note",
     NOTE_LENGTH),
])
def test_the_cli_refuses_text_over_its_length_and_stores_nothing(hub, tmp_path, args, what,
                                                                  most):
    before = cli_rows(tmp_path)
    code, _, err = hub(*args)
    assert code == 2 and f"the {what} is {most + 1:,} characters long" in err, err
    assert f"more than the {most:,} it may have" in err and "Traceback" not in err
    assert cli_rows(tmp_path) == before


def test_the_cli_keeps_text_up_to_its_length(hub):
    code, out, err = hub("payment", "add", "1", "5", "--reference", "r" * REFERENCE_LENGTH)
    assert code == 0, err


@pytest.fixture
def org_id(api) -> int:
    """An organisation with a payment, made through the API."""
    org = api.post("/organisations", json={"name": "Acme"}).json()["id"]
    api.post("/payments", json={"organisation_id": org, "amount": "10.00"})
    return org


@pytest.mark.parametrize("path,body", [
    ("/payments", {"amount": "5.00", "reference": "x" * (REFERENCE_LENGTH + 1)}),
    ("/payments", {"amount": "5.00", "note": "x" * (NOTE_LENGTH + 1)}),
    ("/invoices", {"note": "x" * (NOTE_LENGTH + 1)}),
    ("/credit-notes", {"lines": [{"description": "goodwill", "unit_price": "5"}],
                       "reason": "x" * (REASON_LENGTH + 1)}),
])
def test_the_api_refuses_text_over_its_length_with_422(api, api_ctx, org_id, path, body):
    client, org, ctx = api, org_id, api_ctx
    before = every_row(ctx.engine)
    answer = client.post(path, json={"organisation_id": org, **body})
    assert answer.status_code == 422, answer.text
    assert "at most" in answer.json()["detail"]
    assert every_row(ctx.engine) == before


def test_a_refused_amount_is_shown_as_typed_not_as_python_writes_it():
    """The ledger's rule, given a Decimal (as the web admin's forms hand it over)."""
    from decimal import Decimal

    from hub.errors import ValidationFailed
    from hub.ledger.amounts import exact_amount

    for value, shown in ((Decimal("1E+400"), "'1E+400' has more than 15 integer digits"),
                         (Decimal("NaN"), "'NaN' is not a finite amount")):
        with pytest.raises(ValidationFailed) as refused:
            exact_amount(value, "USD", "payment")
        assert shown in str(refused.value) and "Decimal(" not in str(refused.value)
