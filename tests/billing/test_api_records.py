"""The REST API changes and retires records with the CLI's rules (one-line 422s, nothing
stored), defaults to the company currency, and its tokens have scopes, expiry, revocation and
``last_used_at`` (issue #16)."""

from __future__ import annotations

import datetime as dt

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient
from sqlmodel import select

from hub.db.engine import session_scope
from hub.db.models import ApiToken, Organisation
from hub.jobs.assemble import build_runtime
from hub.web.app import create_app
from hub.web.tokens import create_token, revoke_token


#: ISO 4217 codes that are not money: "no currency", the test code, a metal, the IMF's unit.
NOT_MONEY = [{"currency": code} for code in ("XXX", "XTS", "XAU", "XDR", "XSU", "XUA")]


@pytest.fixture
def api(ctx):
    runtime = build_runtime(ctx, broker=StubBroker())
    app = create_app(ctx, runtime)

    def client(name="full", **options):
        token = create_token(ctx.engine, name, **options)
        return TestClient(app, headers={"Authorization": f"Bearer {token}"})

    yield client
    runtime.close()


def test_records_are_changed_and_retired_through_the_api(api, ctx):
    c = api()
    ctx.settings.company.currency = "EUR"
    org = c.post("/organisations", json={"name": "Acme"}).json()
    assert org["currency"] == "EUR"
    for bad in ({"currency": "usd"}, {"currency": "ZZZ"}, {"billing_day": 0},
                {"name": " "}, {"email": "x"}, {"email": "<x>@y.com"}, {"colour": "red"},
                {"payment_due_days": -1}, *NOT_MONEY):
        answer = c.patch(f"/organisations/{org['id']}", json=bad)
        assert answer.status_code == 422, bad
        assert answer.json()["error"] == "ValidationFailed" and "\n" not in answer.json()["detail"]
        if bad in NOT_MONEY:
            assert "real currency code such as 'USD'" in answer.json()["detail"], bad
    changed = c.patch(f"/organisations/{org['id']}", json={"currency": "GBP", "billing_day": 5})
    assert changed.status_code == 200 and changed.json()["currency"] == "GBP"
    assert c.patch("/organisations/2147483648", json={"name": "x"}).status_code == 422
    assert c.patch("/organisations/77", json={"name": "x"}).status_code == 404
    assert c.post(f"/organisations/{org['id']}/retire").json()["active"] is False
    with session_scope(ctx.engine) as s:
        stored = s.get(Organisation, org["id"])
        assert (stored.currency, stored.billing_day, stored.active) == ("GBP", 5, False)


def test_token_scopes_expiry_revocation_and_last_use(api, ctx):
    reader = api("reader", scope="read")
    assert reader.get("/organisations").status_code == 200
    refused = reader.post("/organisations", json={"name": "Acme"})
    assert refused.status_code == 403 and "only read" in refused.json()["detail"]
    with session_scope(ctx.engine) as s:
        [row] = [t for t in s.query(ApiToken).all() if t.name == "reader"]
        assert row.last_used_at is not None
    expired = api("old", expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    assert expired.get("/organisations").status_code == 401
    writer = api("writer")
    assert writer.get("/organisations").status_code == 200
    revoke_token(ctx.engine, "writer")
    assert writer.get("/organisations").status_code == 401


@pytest.mark.parametrize("currency", [body["currency"] for body in NOT_MONEY])
def test_an_organisation_in_a_code_that_is_not_money_is_refused_but_one_stored_still_reads(
        api, ctx, currency):
    c = api()
    answer = c.post("/organisations", json={"name": "Metals Ltd", "currency": currency})
    assert answer.status_code == 422, answer.text
    assert "real currency code such as 'USD'" in answer.json()["detail"]
    for money in ("USD", "JPY", "KWD", "XOF", "XPF"):  # XOF, XPF: real X codes stay
        assert c.post("/organisations", json={"name": f"In {money}", "currency": money}
                      ).status_code == 201, money
    with session_scope(ctx.engine) as s:
        assert [o.currency for o in s.exec(select(Organisation).order_by(Organisation.id))] == [
            "USD", "JPY", "KWD", "XOF", "XPF"]
        s.add(Organisation(name="Stored earlier", currency=currency))  # before the rule
    [stored] = [o for o in c.get("/organisations").json() if o["name"] == "Stored earlier"]
    assert stored["currency"] == currency  # read as stored, and other changes still apply
    assert c.patch(f"/organisations/{stored['id']}", json={"name": "Renamed"}).status_code == 200
