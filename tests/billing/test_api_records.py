"""The REST API changes and retires records with the CLI's rules (one-line 422s, nothing
stored), defaults to the company currency, and its tokens have scopes, expiry, revocation and
``last_used_at`` (issue #16)."""

from __future__ import annotations

import datetime as dt

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient

from hub.db.engine import session_scope
from hub.db.models import ApiToken, Organisation
from hub.jobs.assemble import build_runtime
from hub.web.app import create_app
from hub.web.tokens import create_token, revoke_token


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
                {"payment_due_days": -1}):
        answer = c.patch(f"/organisations/{org['id']}", json=bad)
        assert answer.status_code == 422, bad
        assert answer.json()["error"] == "ValidationFailed" and "\n" not in answer.json()["detail"]
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
