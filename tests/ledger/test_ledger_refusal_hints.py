"""Ledger refusals say what is wrong and what to do, through the CLI (exit 2) and the API
(404/422), and store nothing:

- an organisation id that names none points at `hub org list`;
- paying a draft says how it becomes final: finalise a one-time draft, confirm the batch of a
  batch's draft, convert a proforma (it said "confirm its billing batch first" for all);
- a credit note or a pre-bill of 0 % (or over 100 %) says the percentage must be more than 0
  and at most 100;
- a credit note line needs a description, at most as long as an invoice line's (the API took
  "" and 600 characters);
- a credit note is the whole invoice, a percentage of it or lines: two at once are refused
  (whole and percent were both taken and percent won).
"""

from __future__ import annotations

import pytest

from hub.testing.cli import real_cli
from hub.testing.snapshots import cli_rows, every_row
from hub.validation.fields import NAME_LENGTH

SETUP = [
    ["org", "create", "Acme"],
    ["invoice", "create", "1", "--date", "2026-03-01"],
    ["invoice", "add-line", "1", "--description", "Switch", "--price", "100"],
    ["invoice", "finalise", "1"],
    ["invoice", "create", "1", "--date", "2026-03-01"],
    ["invoice", "add-line", "2", "--description", "Router", "--price", "50"],
    ["invoice", "create", "1", "--date", "2026-03-01", "--proforma"],
    ["invoice", "add-line", "3", "--description", "Quote", "--price", "70"],
    ["recurring", "create", "1", "--start", "2026-03-01"],
    ["recurring", "add-line", "1", "--description", "Backup", "--price", "20"],
    ["bill", "preview", "--date", "2026-03-01"],
]


@pytest.fixture
def hub(tmp_path, monkeypatch, capsys):
    """Invoice 1 final (100.00), 2 a one-time draft, 3 a proforma, 4 a draft of batch 1."""
    with real_cli(tmp_path, monkeypatch, capsys, setup=SETUP) as run:
        yield run


@pytest.mark.parametrize("args,said", [
    (["payment", "add", "99", "5"], "no organisation with id 99 — list organisations and "
                                    "their ids with `hub org list`"),
    (["payment", "add", "1", "10", "--invoice", "id:2"],
     "finalise the invoice first: `hub invoice finalise 2`"),
    (["ledger", "mark-paid", "id:2"], "finalise the invoice first: `hub invoice finalise 2`"),
    (["ledger", "mark-paid", "id:3"], "`hub invoice convert-proforma 3`"),
    (["ledger", "mark-paid", "id:4"], "confirm its billing batch first: `hub bill confirm 1`"),
    (["credit-note", "create", "--invoice", "id:1", "--percent", "0"],
     "the percentage must be more than 0 and at most 100"),
    (["credit-note", "create", "--invoice", "id:1", "--percent", "101"],
     "the percentage must be more than 0 and at most 100"),
    (["credit-note", "create", "--invoice", "id:1", "--whole", "--percent", "10"],
     "not whole and percent together"),
    *[(["prebill", "create", "1", "--project", "Web", "--stage", "Build", "--fee", "1000",
        "--percent", share], f"percent: {share} % is no share of the stage fee: the "
                            "percentage must be more than 0 and at most 100")
      for share in ("0", "101", "-5")],
    (["credit-note", "create", "--invoice", "id:1", "--whole", "--line", "goodwill=5"],
     "not whole and lines together"),
    (["credit-note", "create", "--organisation", "1", "--line", "  =5"],
     "the credit note line description is empty"),
    (["credit-note", "create", "--organisation", "1", "--line", "d" * (NAME_LENGTH + 1) + "=5"],
     f"is {NAME_LENGTH + 1:,} characters long, more than the {NAME_LENGTH:,}"),
])
def test_the_cli_refusal_says_what_to_do_and_stores_nothing(hub, tmp_path, args, said):
    before = cli_rows(tmp_path)
    code, out, err = hub(*args)
    assert code == 2, (out, err)
    assert said in err and "Traceback" not in err
    assert "is not between 0 and 100" not in err
    assert cli_rows(tmp_path) == before


def test_the_cli_keeps_a_credit_line_description_up_to_its_length(hub):
    code, out, err = hub("credit-note", "create", "--organisation", "1",
                         "--line", "d" * NAME_LENGTH + "=5")
    assert code == 0, err


@pytest.fixture
def final_invoice(api) -> int:
    """A final one-time invoice of 100.00."""
    org = api.post("/organisations", json={"name": "Acme"}).json()["id"]
    invoice_id = api.post("/invoices", json={"organisation_id": org,
                                             "issue_date": "2026-03-01"}).json()["id"]
    assert api.post(f"/invoices/{invoice_id}/lines",
                    json={"description": "Switch", "unit_price": "100"}).status_code == 201
    assert api.post(f"/invoices/{invoice_id}/finalise").status_code == 200
    return invoice_id


@pytest.mark.parametrize("body,said", [
    ({"lines": [{"description": "", "unit_price": "5"}]},
     "the credit note line description is empty"),
    ({"lines": [{"description": "   ", "unit_price": "5"}]},
     "the credit note line description is empty"),
    ({"lines": [{"description": "d" * 600, "unit_price": "5"}]}, "600 characters long"),
    ({"whole": True, "percent": "10"}, "not whole and percent together"),
    ({"percent": "0"}, "the percentage must be more than 0 and at most 100"),
])
def test_the_api_refuses_a_bad_credit_note_with_422(api, api_ctx, final_invoice, body, said):
    before = every_row(api_ctx.engine)
    answer = api.post("/credit-notes", json={"invoice_id": final_invoice, **body})
    assert answer.status_code == 422, answer.text
    assert said in answer.json()["detail"]
    assert every_row(api_ctx.engine) == before


@pytest.mark.parametrize("share", ["0", "0.00", "100.01"])
def test_the_api_refuses_a_prebill_of_no_share_of_the_fee_with_422(api, api_ctx, share):
    org = api.post("/organisations", json={"name": "Acme"}).json()["id"]
    before = every_row(api_ctx.engine)
    answer = api.post("/prebills", json={"organisation_id": org, "project": "Web",
                                         "stage": "Build", "stage_fee": "1000",
                                         "percent": share})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert "the percentage must be more than 0 and at most 100" in detail, detail
    assert "is not between 0 and 100" not in detail
    assert every_row(api_ctx.engine) == before


def test_the_api_says_how_to_find_an_organisation(api, api_ctx):
    api.post("/organisations", json={"name": "Acme"})  # the token's first use is stored
    before = every_row(api_ctx.engine)
    answer = api.post("/payments", json={"organisation_id": 99, "amount": "5.00"})
    assert answer.status_code == 404, answer.text
    assert "`hub org list`" in answer.json()["detail"]
    assert every_row(api_ctx.engine) == before


def test_the_api_says_to_finalise_a_draft_before_paying_it(api, api_ctx):
    org = api.post("/organisations", json={"name": "Acme"}).json()["id"]
    draft = api.post("/invoices", json={"organisation_id": org}).json()["id"]
    api.post(f"/invoices/{draft}/lines", json={"description": "Switch", "unit_price": "100"})
    before = every_row(api_ctx.engine)
    answer = api.post(f"/ledger/invoices/{draft}/mark-paid", json={})
    assert answer.status_code == 422, answer.text
    assert f"`hub invoice finalise {draft}`" in answer.json()["detail"]
    assert "batch" not in answer.json()["detail"]
    assert every_row(api_ctx.engine) == before
