"""Converting a proforma, and editing a line's description, by the rules their neighbours
already follow:

- an empty proforma is refused as ``hub invoice finalise`` refuses an empty draft (it became a
  numbered invoice of 0.00, "paid" at once), in the CLI (exit 2) and the API (422), with
  nothing stored;
- converting a proforma twice is refused with advice that can be followed (it said "credit it
  and convert again", and after crediting the conversion was still refused);
- ``hub invoice edit-line`` refuses an empty or over-long description as ``add-line`` does."""

from __future__ import annotations

import pytest

from hub.testing.api import api_client
from hub.testing.cli import real_cli
from hub.testing.snapshots import cli_rows, every_row

SETUP = [
    ["org", "create", "Acme"],
    ["invoice", "create", "1", "--proforma", "--date", "2026-03-01"],
]


@pytest.fixture
def hub(tmp_path, monkeypatch, capsys):
    """The real CLI over a hub with an empty proforma (invoice 1) of organisation 1."""
    with real_cli(tmp_path, monkeypatch, capsys, setup=SETUP) as run:
        yield run


def test_the_cli_refuses_to_convert_an_empty_proforma(hub, tmp_path):
    before = cli_rows(tmp_path)
    code, out, err = hub("invoice", "convert-proforma", "1")
    assert code == 2, (out, err)
    assert "proforma 1 has no lines" in err and "hub invoice add-line" in err
    assert cli_rows(tmp_path) == before  # no invoice, no number taken, nothing posted
    assert hub("invoice", "add-line", "1", "--description", "Licence", "--price", "120")[0] == 0
    code, out, err = hub("invoice", "convert-proforma", "1")
    assert code == 0 and "converted into invoice" in out, err


def test_converting_twice_gives_advice_that_works(hub):
    assert hub("invoice", "add-line", "1", "--description", "Licence", "--price", "120")[0] == 0
    assert hub("invoice", "convert-proforma", "1")[0] == 0  # invoice 2
    code, _, err = hub("credit-note", "create", "--invoice", "id:2", "--whole",
                       "--reason", "wrong licence")
    assert code == 0, err
    # Credited, the proforma still converts once: the advice must not say otherwise.
    code, _, err = hub("invoice", "convert-proforma", "1")
    assert code == 2 and "proforma 1 was already converted" in err
    assert "convert again" not in err
    assert "`hub invoice create 1`" in err
    # ... and what it says can be done: a new draft, its lines, finalised.
    code, out, err = hub("invoice", "create", "1")
    assert code == 0, err
    draft = out.split("Draft invoice ")[1].split()[0]
    assert hub("invoice", "add-line", draft, "--description", "Licence", "--price", "100")[0] == 0
    assert hub("invoice", "finalise", draft)[0] == 0


def test_the_api_refuses_to_convert_an_empty_proforma(ctx):
    with api_client(ctx) as api:
        org = api.post("/organisations", json={"name": "Acme"}).json()["id"]
        proforma = api.post("/invoices", json={"organisation_id": org, "proforma": True})
        assert proforma.status_code == 201, proforma.text
        proforma_id = proforma.json()["id"]
        before = every_row(ctx.engine)
        answer = api.post(f"/invoices/{proforma_id}/convert")
        assert answer.status_code == 422, answer.text
        assert f"proforma {proforma_id} has no lines" in answer.json()["detail"]
        assert every_row(ctx.engine) == before


@pytest.fixture
def with_line(tmp_path, monkeypatch, capsys):
    """The real CLI over a hub with a draft (invoice 1) holding line 1, "Switch"."""
    setup = [["org", "create", "Acme"], ["invoice", "create", "1", "--date", "2026-03-01"],
             ["invoice", "add-line", "1", "--description", "Switch", "--price", "100"]]
    with real_cli(tmp_path, monkeypatch, capsys, setup=setup) as run:
        yield run


@pytest.mark.parametrize("description", ["", "   ", "x" * 600])
def test_edit_line_refuses_what_add_line_refuses(with_line, tmp_path, description):
    code, _, added = with_line("invoice", "add-line", "1", "--description", description,
                               "--price", "1")
    assert code == 2
    before = cli_rows(tmp_path)
    code, _, edited = with_line("invoice", "edit-line", "1", description)
    assert code == 2 and edited == added, (edited, added)  # the same refusal, word for word
    assert cli_rows(tmp_path) == before


def test_edit_line_keeps_a_description_add_line_takes(with_line, tmp_path):
    code, _, err = with_line("invoice", "edit-line", "1", "y" * 200)
    assert code == 0, err
    assert any("y" * 200 in row for row in cli_rows(tmp_path)["invoiceline"])
