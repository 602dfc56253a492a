"""A pre-bill's (and its WIP's) project and stage are names, by the rules of every name: not
empty, at most a name's length. They took "" and 600 characters, and the pre-bill's invoice
line "pre-bill: PROJECT / STAGE" came to 614 characters, which no added line may have; that
line is now held to a line's rules too. Refused in the CLI (exit 2) and the API (422), and
nothing is stored."""

from __future__ import annotations

import pytest

from hub.testing.cli import real_cli
from hub.testing.snapshots import cli_rows, every_row

LONG = "x" * 600


@pytest.fixture
def hub(tmp_path, monkeypatch, capsys):
    """The real CLI over a hub with organisation 1."""
    with real_cli(tmp_path, monkeypatch, capsys, setup=[["org", "create", "Acme"]]) as run:
        yield run


def _prebill(project: str, stage: str) -> list[str]:
    return ["prebill", "create", "1", "--project", project, "--stage", stage, "--fee", "1000",
            "--percent", "50"]


def _wip(project: str, stage: str) -> list[str]:
    return ["prebill", "wip", "1", "--project", project, "--stage", stage, "--value", "100"]


@pytest.mark.parametrize("command", [_prebill, _wip])
@pytest.mark.parametrize("project,stage,field,message", [
    ("", "Build", "project", "at least 1 character"),
    ("  ", "Build", "project", "is empty"),
    ("Web", "", "stage", "at least 1 character"),
    (LONG, "Build", "project", "at most 200 characters"),
    ("Web", LONG, "stage", "at most 200 characters"),
])
def test_the_cli_refuses_a_name_that_is_empty_or_too_long(hub, tmp_path, command, project,
                                                          stage, field, message):
    before = cli_rows(tmp_path)
    code, out, err = hub(*command(project, stage))
    assert code == 2, (out, err)
    assert f"{field}: " in err and message in err and "Traceback" not in err
    assert cli_rows(tmp_path) == before


@pytest.mark.parametrize("description,message", [
    ("d" * 201, "at most 200 characters"),
    (LONG, "at most 200 characters"),
    ("a\x00b", "NUL"),
])
def test_the_cli_refuses_a_wip_description_longer_than_a_lines(hub, tmp_path, description,
                                                               message):
    before = cli_rows(tmp_path)
    code, out, err = hub(*_wip("Web", "Build"), "--description", description)
    assert code == 2, (out, err)
    assert "description: " in err and message in err and "Traceback" not in err, err
    assert cli_rows(tmp_path) == before
    code, _, err = hub(*_wip("Web", "Build"), "--description", "d" * 200)  # a line's length
    assert code == 0, err


def test_the_prebill_line_is_held_to_a_lines_length(hub, tmp_path):
    before = cli_rows(tmp_path)
    code, _, err = hub(*_prebill("p" * 150, "s" * 150))
    assert code == 2
    assert "the pre-bill's invoice line" in err and "313 characters long" in err
    assert "at most 200 characters" in err and "shorten the project or stage" in err
    assert cli_rows(tmp_path) == before


def test_names_a_line_can_hold_are_kept(hub, tmp_path):
    code, _, err = hub(*_prebill(" Web ", "Build"))
    assert code == 0, err
    code, _, err = hub(*_wip("Web", "Build"))
    assert code == 0, err
    lines = cli_rows(tmp_path)["invoiceline"]
    assert any("'pre-bill: Web / Build'" in line for line in lines), lines
    # Trimmed as every name is, so the WIP recorded as "Web" is this pre-bill's to attach.
    code, out, err = hub("prebill", "options", "1")
    assert code == 0 and "\"wip_total\": \"100.00\"" in out, (out, err)


@pytest.mark.parametrize("path,field,value,message", [
    *[(path, field, value, message) for path in ("/prebills", "/wip")
      for field, value, message in (
          ("project", "", "at least 1 character"),
          ("stage", "  ", "is empty"),
          ("project", LONG, "at most 200 characters"),
          ("stage", LONG, "at most 200 characters"))],
    ("/wip", "description", "d" * 201, "at most 200 characters"),
])
def test_the_api_refuses_a_name_that_is_empty_or_too_long(api, api_ctx, path, field, value,
                                                          message):
    org = api.post("/organisations", json={"name": "Acme"}).json()["id"]
    body = {"organisation_id": org, "project": "Web", "stage": "Build", field: value}
    body.update({"stage_fee": "1000", "percent": "50"} if path == "/prebills"
                else {"value": "100"})
    before = every_row(api_ctx.engine)
    answer = api.post(path, json=body)
    assert answer.status_code == 422, answer.text
    assert f"{field}: " in answer.json()["detail"] and message in answer.json()["detail"]
    assert every_row(api_ctx.engine) == before
