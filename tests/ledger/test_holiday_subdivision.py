"""A billing config's holiday subdivision must be one the holiday registry lists for its
country: "ZZ" for the US is refused in the CLI (exit 2) and the API (422), naming some valid
ones, and nothing is stored. One stored before that rule (written straight to the database
here) is reported as a one-line refusal by the account view and skipped by name in the daily
account calendar, never a traceback, and the reminders still go out."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal as D

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from hub.db.engine import make_engine
from hub.db.models import AccountConfig, Invoice, InvoiceLine, Organisation
from hub.errors import ValidationFailed
from hub.ledger import post_invoice, run_account_calendar, set_account_config
from hub.ledger.reminding import queue_reminders
from hub.testing.api import api_client
from hub.testing.cli import real_cli
from hub.testing.snapshots import cli_rows

SETUP = [["org", "create", "Acme"], ["account", "config", "1", "blocking_days=2"]]


@pytest.fixture
def hub(tmp_path, monkeypatch, capsys):
    with real_cli(tmp_path, monkeypatch, capsys, setup=SETUP) as run:
        yield run


def _store_subdivision(tmp_path, country: str, subdivision: str) -> None:
    """Write the config as a hub from before the check could have stored it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'hub.sqlite'}")
    try:
        with engine.begin() as conn:
            conn.execute(update(AccountConfig.__table__).values(
                holiday_country=country, holiday_subdivision=subdivision))
    finally:
        engine.dispose()


@pytest.mark.parametrize("settings,refusal", [
    (["holiday_country=US", "holiday_subdivision=ZZ"], "'ZZ' is not a subdivision of US"),
    (["holiday_country=GB", "holiday_subdivision=CA"], "'CA' is not a subdivision of GB"),
    (["holiday_subdivision=CA"], "needs a holiday country"),
])
def test_the_cli_refuses_an_unknown_subdivision_and_stores_nothing(hub, tmp_path, settings,
                                                                   refusal):
    before = cli_rows(tmp_path)
    code, _, err = hub("account", "config", "1", *settings)
    assert code == 2 and refusal in err and "Traceback" not in err, err
    if "needs" not in refusal:
        assert "use one of" in err  # some valid ones are named
    assert cli_rows(tmp_path) == before


def test_a_country_changed_under_a_stored_subdivision_is_refused(hub, tmp_path):
    assert hub("account", "config", "1", "holiday_country=US", "holiday_subdivision=CA")[0] == 0
    before = cli_rows(tmp_path)
    code, _, err = hub("account", "config", "1", "holiday_country=GB")
    assert code == 2 and "'CA' is not a subdivision of GB" in err and "ENG" in err, err
    assert cli_rows(tmp_path) == before


def test_a_known_subdivision_is_taken_as_the_registry_spells_it(hub):
    code, out, err = hub("account", "config", "1", "holiday_country=us",
                         "holiday_subdivision=california")
    assert code == 0 and '"holiday_subdivision": "CA"' in out, err
    code, out, err = hub("account", "show", "1")
    assert code == 0 and "next_block" in out, err


def test_a_stored_unknown_subdivision_is_reported_by_the_account_view(hub, tmp_path):
    _store_subdivision(tmp_path, "US", "ZZ")
    code, _, err = hub("account", "show", "1")
    assert code == 2 and "Traceback" not in err and "NotImplementedError" not in err, err
    assert "holiday_subdivision 'ZZ'" in err and "use one of AK" in err, err
    # and the fix the message names works
    assert hub("account", "config", "1", "holiday_subdivision=NY")[0] == 0
    assert hub("account", "show", "1")[0] == 0


def test_a_stored_code_in_another_case_is_read_as_the_registry_spells_it(hub, tmp_path):
    _store_subdivision(tmp_path, "US", "ca")  # the registry itself refuses "ca"
    code, out, err = hub("account", "show", "1")
    assert code == 0 and "next_block" in out, err


def test_a_stored_unknown_country_is_reported_by_the_account_view(hub, tmp_path):
    _store_subdivision(tmp_path, "ZZ", None)
    code, _, err = hub("account", "show", "1")
    assert code == 2 and "Traceback" not in err, err
    assert "holiday_country 'ZZ' is not a country" in err and "ISO 3166" in err, err


def test_an_empty_value_clears_a_setting_that_can_be_empty(hub):
    assert hub("account", "config", "1", "holiday_country=US", "holiday_subdivision=CA",
               'holidays=["2026-12-24"]')[0] == 0
    code, out, err = hub("account", "config", "1", "holiday_subdivision=", "holidays=")
    assert code == 0, err
    assert "holiday_subdivision, holidays cleared" in out
    assert '"holiday_subdivision": null' in out and '"holidays": []' in out
    code, out, err = hub("account", "config", "1", "holiday_subdivision=")
    assert code == 0 and "nothing changed" in out, err
    code, out, err = hub("account", "config", "1", "holiday_country=")
    assert code == 0 and '"holiday_country": null' in out, err


@pytest.mark.parametrize("setting", ["blocking_days=", "minimum_balance= ",
                                     "block_on_weekends="])
def test_an_empty_value_for_a_setting_that_cannot_be_empty_is_refused(hub, tmp_path,
                                                                      setting):
    before = cli_rows(tmp_path)
    code, _, err = hub("account", "config", "1", setting)
    name = setting.partition("=")[0]
    assert code == 2 and f"{name} cannot be empty" in err, err
    assert "can be cleared" in err and "holiday_subdivision" in err
    assert cli_rows(tmp_path) == before


@pytest.fixture
def api(make_hub_context):
    ctx = make_hub_context()
    with api_client(ctx, "holidays") as client:
        org = client.post("/organisations", json={"name": "Acme"}).json()["id"]
        yield ctx, client, org


def test_the_api_refuses_an_unknown_subdivision_with_422(api):
    _, client, org = api
    answer = client.patch(f"/organisations/{org}/account/config", json={
        "holiday_country": "US", "holiday_subdivision": "ZZ", "block_on_holidays": False})
    assert answer.status_code == 422, answer.text
    assert "'ZZ' is not a subdivision of US" in answer.json()["detail"]
    assert client.get(f"/organisations/{org}/account/config").json()["holiday_country"] is None
    assert client.get(f"/organisations/{org}/account").status_code == 200


def test_the_api_clears_with_null_what_the_cli_clears_with_an_empty_value(api):
    _, client, org = api
    url = f"/organisations/{org}/account/config"
    assert client.patch(url, json={"holiday_country": "US",
                                   "holiday_subdivision": "CA"}).status_code == 200
    answer = client.patch(url, json={"holiday_subdivision": None})
    assert answer.status_code == 200 and answer.json()["holiday_subdivision"] is None
    answer = client.patch(url, json={"blocking_days": None})
    assert answer.status_code == 422 and "blocking_days cannot be null" in answer.text


def test_the_api_account_view_of_a_stored_unknown_subdivision_is_a_422_not_a_500(api):
    ctx, client, org = api
    assert client.patch(f"/organisations/{org}/account/config",
                        json={"blocking_days": 2}).status_code == 200
    with Session(ctx.engine) as s:
        s.exec(update(AccountConfig).values(holiday_country="US", holiday_subdivision="ZZ"))
        s.commit()
    answer = client.get(f"/organisations/{org}/account")
    assert answer.status_code == 422, answer.text
    assert "holiday_subdivision 'ZZ'" in answer.json()["detail"]


def _unpaid_organisation(session, name: str) -> Organisation:
    org = Organisation(name=name, currency="USD", payment_due_days=14)
    session.add(org)
    session.flush()
    invoice = Invoice(organisation_id=org.id, number=f"INV-{name}", currency="USD",
                      issue_date=dt.date(2026, 1, 1), due_date=dt.date(2026, 1, 15),
                      subtotal=D("100"), total=D("100"))
    session.add(invoice)
    session.flush()
    session.add(InvoiceLine(invoice_id=invoice.id, description="support",
                            unit_price=D("100"), amount=D("100")))
    post_invoice(session, invoice, today=dt.date(2026, 1, 1))
    set_account_config(session, org.id, blocking_days=2, reminder_days=[7])
    return org


def test_the_daily_jobs_name_a_stored_unknown_subdivision_and_go_on(make_hub_context, caplog):
    ctx = make_hub_context()
    with Session(ctx.engine) as s:
        broken, fine = _unpaid_organisation(s, "Broken"), _unpaid_organisation(s, "Fine")
        ids = broken.id, fine.id
        s.exec(select(AccountConfig).where(AccountConfig.organisation_id == broken.id)
               ).one().holiday_country = "US"
        s.exec(select(AccountConfig).where(AccountConfig.organisation_id == broken.id)
               ).one().holiday_subdivision = "ZZ"
        s.commit()
    with caplog.at_level(logging.WARNING, logger="hub.ledger.account_states"):
        assert len(run_account_calendar(ctx, dt.date(2026, 3, 1))) == 1
    assert f"organisation {ids[0]} skipped: ValidationFailed" in caplog.text
    assert "holiday_subdivision 'ZZ'" in caplog.text and "NotImplementedError" not in caplog.text
    with Session(ctx.engine) as s:  # reminders read no holiday calendar: both are sent
        assert sorted(queue_reminders(s, dt.date(2026, 1, 8), [7])) == [1, 2]


def test_the_registry_names_and_codes_both_stand_for_a_code():
    from hub.validation.accounts import check_subdivision

    assert check_subdivision("GB", "scotland") == "SCT"
    assert check_subdivision("US", " ny ") == "NY"
    with pytest.raises(ValidationFailed, match="has no subdivisions"):
        check_subdivision("AF", "X")
