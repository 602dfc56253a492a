"""A recurring invoice's service start and end, a contract's start and a manual account
transaction's date before 2000 are a typo (0001-01-01, 0026 for 2026), as for documents and
payments (the CLI's refusals are in test_far_dates.py with theirs); the API refuses an end
before 2000 too (422), and a billing run never bills from year 1 (a recurring invoice starting
then made the next run write one draft a month since). An agreement's end or a contract's
cycles years ahead are its term, and are taken."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session

from hub.billing.recurring import create_recurring
from hub.testing.api import api_client
from hub.testing.cli import real_cli

TODAY = dt.date.today()  # the CLI's clock is the real one (the dates keep a month's margin)
START = TODAY.replace(day=1).isoformat()

SETUP = [
    ["org", "create", "Acme"],
    ["recurring", "create", "1", "--start", START],
    ["recurring", "add-line", "1", "--description", "Support", "--price", "100"],
]


@pytest.fixture
def hub(tmp_path, monkeypatch, capsys):
    with real_cli(tmp_path, monkeypatch, capsys, setup=SETUP) as run:
        yield run


def test_the_first_day_taken_and_a_term_of_years_are_taken(hub):
    assert hub("recurring", "create", "1", "--start", "2000-01-01")[0] == 0
    assert hub("account", "transaction", "1", "--side", "credit", "--amount", "5",
               "--date", "2000-01-01")[0] == 0
    assert hub("contract", "create", "1", "Support", "--start", START, "--cycles", "36")[0] == 0
    end = TODAY.replace(year=TODAY.year + 3, day=1).isoformat()
    code, _, err = hub("recurring", "edit", "1", "--end", end)
    assert code == 0, err


def test_no_billing_run_bills_from_year_one(hub):
    hub("recurring", "create", "1", "--start", "0001-01-01")
    code, out, err = hub("bill", "preview")
    assert code == 0, err
    assert "0001-" not in out  # only the schedule that starts this month is billed


@pytest.fixture
def api(make_hub_context):
    ctx = make_hub_context()
    with api_client(ctx, "agreements") as client:
        org = client.post("/organisations", json={"name": "Acme"}).json()["id"]
        with Session(ctx.engine) as session:
            schedule = create_recurring(session, org, dt.date(2026, 1, 1)).id
            session.commit()
        yield client, schedule


@pytest.mark.parametrize("method,path,body", [
    ("patch", "/recurring/{id}", {"end_date": "0001-01-01"}),
    ("post", "/recurring/{id}/end", {"end_date": "1999-12-31"}),
])
def test_the_api_refuses_an_end_before_2000_with_422(api, method, path, body):
    client, schedule = api
    answer = getattr(client, method)(path.format(id=schedule), json=body)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert "is before 2000-01-01" in detail and "earliest end date taken" in detail, detail
    assert client.patch(f"/recurring/{schedule}", json={"name": "Kept"}).json()["end_date"] \
        is None
