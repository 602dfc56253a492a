"""Issue #19: the account calendar acts (seed 002). When the block and deactivation dates come
the account's state changes, recorded and shown by the API; a payment brings it back; the
``hub_account_state_changed`` hook tells plugins once per change; "set next block date" moves
the block date once. The daily ``account_calendar`` job runs through the real job runtime."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient
from sqlmodel import Session

from hub import hookimpl
from hub.db.models import Invoice, InvoiceLine, Organisation
from hub.jobs import build_runtime
from hub.jobs.scheduler import DAILY_JOBS
from hub.ledger import post_invoice, set_account_config
from hub.web.app import create_app
from hub.web.tokens import create_token


class StateListener:
    def __init__(self):
        self.calls = []

    @hookimpl
    def hub_account_state_changed(self, organisation_id, previous, state, effective_on, reason):
        self.calls.append((organisation_id, previous, state, effective_on))


@pytest.fixture
def world(make_hub_context, hub_clock):
    listener = StateListener()
    ctx = make_hub_context(listener)
    runtime = build_runtime(ctx, broker=StubBroker())
    runtime.start_worker(1)
    client = TestClient(create_app(ctx, runtime))
    client.headers["Authorization"] = f"Bearer {create_token(ctx.engine, 'ledger')}"
    with Session(ctx.engine, expire_on_commit=False) as s:
        org = Organisation(name="Acme", currency="USD", payment_due_days=14)
        s.add(org)
        s.flush()
        inv = Invoice(organisation_id=org.id, number="INV-1", currency="USD",
                      issue_date=dt.date(2026, 1, 1), due_date=dt.date(2026, 1, 15),
                      subtotal=D("100"), total=D("100"))
        s.add(inv)
        s.flush()
        s.add(InvoiceLine(invoice_id=inv.id, description="support", unit_price=D("100"),
                          amount=D("100")))
        post_invoice(s, inv, today=dt.date(2026, 1, 1))
        set_account_config(s, org.id, blocking_days=2, deactivation_days=10)
        s.commit()
    yield ctx, runtime, client, listener, org.id, hub_clock
    runtime.close()


def _daily_job(runtime, clock):
    runtime.send("account_calendar", clock.today().isoformat())
    runtime.broker.join(runtime.actors["account_calendar"].queue_name, fail_fast=True)
    runtime.worker.join()


def _state(client, org_id):
    body = client.get(f"/organisations/{org_id}/account").json()
    return body["state"], body


def test_block_deactivate_and_payment_follow_the_calendar(world):
    ctx, runtime, client, listener, org_id, clock = world
    assert "account_calendar" in DAILY_JOBS
    state, body = _state(client, org_id)
    block = dt.date.fromisoformat(body["next_block"])
    deactivation = dt.date.fromisoformat(body["next_deactivation"])
    assert state == "active" and block >= dt.date(2026, 1, 18)  # due 15th + 2 blocking days
    assert deactivation >= block + dt.timedelta(days=10)

    clock.set(f"{block - dt.timedelta(days=1)}T09:00:00+00:00")
    _daily_job(runtime, clock)
    assert _state(client, org_id)[0] == "active" and listener.calls == []

    clock.set(f"{block}T09:00:00+00:00")
    _daily_job(runtime, clock)
    state, body = _state(client, org_id)
    assert state == "blocked" and body["block_state"] == "already blocked"
    assert body["state_changes"][0]["to"] == "blocked" and "INV-1" in body["state_changes"][0]["reason"]
    assert listener.calls == [(org_id, "active", "blocked", block)]
    _daily_job(runtime, clock)  # a second run that day changes nothing and tells nobody
    assert len(listener.calls) == 1

    clock.set(f"{deactivation - dt.timedelta(days=1)}T09:00:00+00:00")
    _daily_job(runtime, clock)
    assert _state(client, org_id)[0] == "blocked"
    clock.set(f"{deactivation}T09:00:00+00:00")
    _daily_job(runtime, clock)
    assert _state(client, org_id)[0] == "deactivated"
    assert listener.calls[-1][1:3] == ("blocked", "deactivated")

    answer = client.post("/payments", json={"organisation_id": org_id, "amount": "100.00"})
    assert answer.status_code == 201, answer.text
    state, body = _state(client, org_id)
    assert state == "active" and body["blocked_at"] is None
    assert listener.calls[-1][1:3] == ("deactivated", "active")
    assert [c["to"] for c in body["state_changes"]] == ["active", "deactivated", "blocked"]


def test_set_next_block_date_moves_it_once_and_is_refused_when_blocked(world):
    ctx, runtime, client, listener, org_id, clock = world
    answer = client.post(f"/organisations/{org_id}/next-block-date", json={"date": "2026-01-25"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["next_block"] == "2026-01-25"
    assert client.post(f"/organisations/{org_id}/next-block-date",
                       json={"date": "2025-12-31"}).status_code == 422

    clock.set("2026-01-20T09:00:00+00:00")  # past the configured date: moved, so nothing yet
    _daily_job(runtime, clock)
    assert _state(client, org_id)[0] == "active"
    clock.set("2026-01-25T09:00:00+00:00")
    _daily_job(runtime, clock)
    state, body = _state(client, org_id)
    assert state == "blocked" and body["next_block_date_set"] is None
    refused = client.post(f"/organisations/{org_id}/next-block-date", json={"date": "2026-02-01"})
    assert refused.status_code == 409 and "already blocked" in refused.text
