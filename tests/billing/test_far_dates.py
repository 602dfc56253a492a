"""A billing run's, invoice's, payment's, refund's, credit note's, agreement start's or account
transaction's date more than a year after today is a typo (2072 for 2027, 9999-12-31): refused in the CLI (exit 2) and the API (422)
with the latest date taken, and nothing is stored. A date within the year is taken. So is a
document's or payment's date before 2000 (0001-01-01, 0026 for 2026), with the earliest taken."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.testing.api import api_client
from hub.testing.cli import real_cli
from hub.testing.snapshots import cli_rows
from hub.validation.fields import MAX_DAYS_AHEAD

TODAY = dt.date.today()  # the CLI's clock is the real one (a day off near midnight is fine:
FAR = (TODAY + dt.timedelta(days=MAX_DAYS_AHEAD + 30)).isoformat()  # the dates keep a margin)
NEAR = (TODAY + dt.timedelta(days=30)).isoformat()

SETUP = [
    ["org", "create", "Acme"],
    ["recurring", "create", "1", "--start", TODAY.replace(day=1).isoformat()],
    ["recurring", "add-line", "1", "--description", "Support", "--price", "100"],
    ["invoice", "create", "1"],
    ["invoice", "add-line", "1", "--description", "Switch", "--price", "100"],
    ["invoice", "finalise", "1"],
    ["payment", "add", "1", "100", "--invoice", "id:1"],
    ["invoice", "create", "1"],  # a draft: its dates can be edited
]


@pytest.fixture
def hub(tmp_path, monkeypatch, capsys):
    with real_cli(tmp_path, monkeypatch, capsys, setup=SETUP) as run:
        yield run


@pytest.mark.parametrize("args,what", [
    (["bill", "preview", "--date", FAR], "run date"),
    (["bill", "preview", "--date", "9999-12-31"], "run date"),
    (["invoice", "create", "1", "--date", FAR], "invoice date"),
    (["payment", "add", "1", "5", "--date", FAR], "payment date"),
    (["payment", "refund", "1", "--amount", "5", "--date", FAR], "refund date"),
    (["credit-note", "create", "--invoice", "id:1", "--whole", "--date", FAR],
     "credit note date"),
    (["prebill", "create", "1", "--project", "Web", "--stage", "Build", "--fee", "100",
      "--value", "50", "--date", FAR], "invoice date"),
    (["ledger", "edit", "id:2", "--issue-date", FAR, "--due-date", FAR], "invoice date"),
    (["recurring", "create", "1", "--start", FAR], "service start"),
    (["contract", "create", "1", "Support", "--start", FAR], "contract start"),
    (["account", "transaction", "1", "--side", "credit", "--amount", "5", "--date", FAR],
     "transaction date"),
])
def test_a_date_more_than_a_year_ahead_is_refused_and_nothing_stored(hub, tmp_path, args,
                                                                     what):
    before = cli_rows(tmp_path)
    code, _, err = hub(*args)
    assert code == 2 and f"the {what} " in err and "more than a year after today" in err, err
    assert "Traceback" not in err
    assert cli_rows(tmp_path) == before


OLD = "0026-03-01"  # 2026 typed without its century


@pytest.mark.parametrize("args,what", [
    (["invoice", "create", "1", "--date", OLD], "invoice date"),
    (["payment", "add", "1", "5", "--date", "0001-01-01"], "payment date"),
    (["payment", "refund", "1", "--amount", "5", "--date", OLD], "refund date"),
    (["credit-note", "create", "--invoice", "id:1", "--whole", "--date", OLD],
     "credit note date"),
    (["prebill", "create", "1", "--project", "Web", "--stage", "Build", "--fee", "100",
      "--value", "50", "--date", OLD], "invoice date"),
    (["ledger", "edit", "id:2", "--issue-date", "1999-12-31"], "invoice date"),
    (["recurring", "create", "1", "--start", "0001-01-01"], "service start"),
    (["recurring", "create", "1", "--start", "0026-03-01", "--bill-from-start"],
     "service start"),
    (["recurring", "edit", "1", "--end", "1999-12-31"], "end date"),
    (["recurring", "end", "1", "--on", "0001-01-01"], "end date"),
    (["contract", "create", "1", "Support", "--start", "0001-01-01"], "contract start"),
    (["account", "transaction", "1", "--side", "credit", "--amount", "5",
      "--date", "0001-01-01"], "transaction date"),
    (["account", "transaction", "1", "--side", "debit", "--amount", "5",
      "--date", "1999-12-31"], "transaction date"),
])
def test_a_date_before_2000_is_refused_and_nothing_stored(hub, tmp_path, args, what):
    before = cli_rows(tmp_path)
    code, _, err = hub(*args)
    assert code == 2 and f"the {what} " in err and "is before 2000-01-01" in err, err
    assert f"the earliest {what} taken is 2000-01-01" in err and "Traceback" not in err
    assert cli_rows(tmp_path) == before


def test_a_date_within_the_year_is_taken(hub):
    assert hub("payment", "add", "1", "5", "--date", NEAR)[0] == 0
    code, out, err = hub("bill", "preview", "--date", NEAR)
    assert code == 0, err


@pytest.fixture
def api(make_hub_context):
    ctx = make_hub_context()
    with api_client(ctx, "dates") as client:
        yield client, client.post("/organisations", json={"name": "Acme"}).json()["id"]


@pytest.mark.parametrize("path,body", [
    ("/batches", {"run_date": "9999-12-31"}),
    ("/payments", {"amount": "5.00", "date": "2072-01-01"}),
])
def test_the_api_refuses_a_date_more_than_a_year_ahead_with_422(api, path, body):
    client, org = api
    answer = client.post(path, json={"organisation_id": org, **body}
                         if path == "/payments" else body)
    assert answer.status_code == 422, answer.text
    assert "more than a year after today" in answer.json()["detail"]


def test_the_api_refuses_a_payment_dated_in_year_one_with_422(api):
    client, org = api
    answer = client.post("/payments", json={"organisation_id": org, "amount": "5.00",
                                            "date": "0001-01-01"})
    assert answer.status_code == 422 and "before 2000-01-01" in answer.json()["detail"]
    assert client.get("/payments").json() == []


def test_the_last_day_taken_is_a_year_and_a_day_after_today():
    from hub.errors import ValidationFailed
    from hub.validation.fields import check_not_far_ahead

    today = dt.date(2026, 3, 1)
    last = today + dt.timedelta(days=MAX_DAYS_AHEAD)
    assert check_not_far_ahead(last, today, "payment date") == last
    with pytest.raises(ValidationFailed) as refused:
        check_not_far_ahead(last + dt.timedelta(days=1), today, "payment date")
    assert f"the latest payment date taken is {last}" in refused.value.hint
    assert check_not_far_ahead(dt.date(9999, 12, 31), None, "payment date")  # no today: no check


def test_a_due_date_more_than_a_year_after_the_invoice_date_is_refused(hub, tmp_path):
    before = cli_rows(tmp_path)
    code, _, err = hub("ledger", "edit", "id:2", "--due-date", FAR)
    assert code == 2 and "the due date" in err and "after the invoice date" in err, err
    assert cli_rows(tmp_path) == before


def test_a_refund_reported_by_the_processor_long_after_the_charge_is_booked(make_hub_context):
    """The date rule is for what people type: a processor's refund, dated by the processor
    more than a year after the charge it refunds, is booked as reported."""
    from hub.billing.catalogue import create_organisation
    from hub.db.engine import session_scope
    from hub.ledger import record_payment
    from hub.ledger.payments import refund

    ctx = make_hub_context()
    with session_scope(ctx.engine) as session:
        org = create_organisation(session, "Acme")
        paid = record_payment(session, org.id, "100", date=dt.date(2026, 1, 10),
                              today=dt.date(2026, 1, 10))
        back = refund(session, paid.id, "40", date=dt.date(2027, 2, 1),
                      today=dt.date(2026, 1, 10))
        assert back.amount == -40
