"""An organisation's currency cannot change while money of it is held in the old currency:
not only invoices and waiting future items, but payments, refunds, credit notes, work in
progress and manual account transactions (100 JPY of credit would read as 100 KWD). The
refusal names what holds the money and what to do; nothing is stored. An organisation that
holds nothing, or only a failed payment, still changes currency."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from hub.billing.editing import edit_organisation
from hub.db.models import Organisation
from hub.db.models.ledger import Payment, PaymentStatus, WipEntry
from hub.errors import EditNotAllowed
from hub.testing.api import api_client
from hub.testing.cli import real_cli
from hub.testing.snapshots import cli_rows

HINT = "its currency cannot change; create a new organisation for the new currency"


@pytest.fixture
def hub(tmp_path, monkeypatch, capsys):
    with real_cli(tmp_path, monkeypatch, capsys,
                  setup=[["org", "create", "Yen", "--currency", "JPY"]]) as run:
        yield run


@pytest.mark.parametrize("money,held", [
    ([["payment", "add", "1", "100"]], "payments"),
    ([["payment", "add", "1", "100"], ["payment", "refund", "1", "--amount", "40"]],
     "payments and refunds"),
    ([["account", "transaction", "1", "--side", "credit", "--amount", "100"]],
     "account transactions"),
    ([["account", "transaction", "1", "--side", "debit", "--amount", "100"]],
     "account transactions"),
    ([["prebill", "wip", "1", "--project", "Web", "--stage", "Build", "--value", "100"]],
     "work in progress"),
])
def test_money_held_in_the_old_currency_keeps_it(hub, tmp_path, money, held):
    for args in money:
        assert hub(*args)[0] == 0
    before = cli_rows(tmp_path)
    code, _, err = hub("org", "edit", "1", "--currency", "KWD")
    assert code == 2 and "Traceback" not in err, err
    assert f"organisation 1 already has {held} in JPY" in err and HINT in err, err
    assert cli_rows(tmp_path) == before
    code, out, _ = hub("account", "show", "1")
    assert code == 0 and "KWD" not in out


def test_an_organisation_holding_nothing_changes_currency(hub):
    assert hub("org", "edit", "1", "--currency", "KWD")[0] == 0
    code, out, _ = hub("account", "transaction", "1", "--side", "credit", "--amount", "1.250")
    assert code == 0 and "KWD" in out  # fils: three decimals


def test_the_api_refuses_the_change_with_409_and_stores_nothing(make_hub_context):
    ctx = make_hub_context()
    with api_client(ctx, "currency") as client:
        org = client.post("/organisations", json={"name": "Yen", "currency": "JPY"}).json()
        assert client.post("/payments", json={"organisation_id": org["id"], "amount": "100",
                                              "date": dt.date.today().isoformat()}
                           ).status_code == 201
        answer = client.patch(f"/organisations/{org['id']}", json={"currency": "KWD"})
        assert answer.status_code == 409, answer.text
        assert "already has payments in JPY" in answer.json()["detail"]
        listed = {o["id"]: o for o in client.get("/organisations").json()}
        assert listed[org["id"]]["currency"] == "JPY"


def test_a_failed_payment_holds_no_money(hub_session):
    session = hub_session
    org = Organisation(name="Yen", currency="JPY")
    session.add(org)
    session.flush()
    session.add(Payment(organisation_id=org.id, currency="JPY", amount=D("100"),
                        status=PaymentStatus.failed, date=dt.date(2026, 3, 1)))
    session.flush()
    assert edit_organisation(session, org.id, {"currency": "KWD"}).currency == "KWD"
    session.add(WipEntry(organisation_id=org.id, project="Web", stage="Build",
                         date=dt.date(2026, 3, 1), currency="KWD", value=D("5")))
    session.flush()
    with pytest.raises(EditNotAllowed, match="already has work in progress in KWD"):
        edit_organisation(session, org.id, {"currency": "USD"})
