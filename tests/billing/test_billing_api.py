"""The billing REST API: organisations, a one-time invoice, a preview batch confirmed, and
refusals as clear 4xx answers. Amounts travel as exact decimal strings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient

from hub.billing.recurring import add_recurring_line, create_recurring
from hub.db.engine import session_scope
from hub.jobs import build_runtime
from hub.web.app import create_app
from hub.testing.api import api_client


@pytest.fixture
def client(ctx):
    with api_client(ctx, "billing-test") as client:
        yield client


def test_api_one_time_invoice_and_a_confirmed_batch(client, counters):
    org = client.post("/organisations", json={"name": "Acme"}).json()
    draft = client.post("/invoices", json={"organisation_id": org["id"],
                                           "issue_date": "2026-03-15"}).json()
    with_line = client.post(f"/invoices/{draft['id']}/lines",
                            json={"description": "Switch", "unit_price": "199.99",
                                  "quantity": "2", "tax_rate": "10"}).json()
    assert [Decimal(with_line[k]) for k in ("subtotal", "tax_total", "total")] == [
        Decimal("399.98"), Decimal("40.00"), Decimal("439.98")]
    final = client.post(f"/invoices/{draft['id']}/finalise").json()
    assert (final["number"], final["status"]) == ("202601000001", "unpaid")

    with session_scope(client.app.state.ctx.engine) as s:
        schedule = create_recurring(s, org["id"], dt.date(2026, 3, 15))
        add_recurring_line(s, recurring_id=schedule.id, line_type="asset_counter",
                           description="Managed device", unit_price="31.00")
    counters.devices[org["id"]] = [{"ref": "d1", "label": "PC-01"}]
    batch = client.post("/batches", json={"run_date": "2026-04-01"})
    assert batch.status_code == 201
    body = batch.json()
    assert body["status"] == "preview" and len(body["invoices"]) == 1
    lines = body["invoices"][0]["lines"]
    assert [(Decimal(l["amount"]), l["change"]) for l in lines] == [
        (Decimal("17.00"), "first invoice"), (Decimal("31.00"), "first invoice")]
    assert lines[0]["provenance"][0]["label"] == "PC-01"
    done = client.post(f"/batches/{body['id']}/confirm").json()
    assert (done["status"], done["invoices"]) == ("confirmed", 1)
    again = client.post(f"/batches/{body['id']}/confirm")
    assert again.status_code == 409 and "already confirmed" in again.json()["detail"]
    missing = client.get("/invoices/9999")
    assert missing.status_code == 404 and "hub invoice list" in missing.json()["detail"]


def test_api_refuses_without_a_token(ctx):
    runtime = build_runtime(ctx, broker=StubBroker())
    try:
        assert TestClient(create_app(ctx, runtime)).get("/batches").status_code == 401
    finally:
        runtime.close()


def test_a_date_too_near_year_9999_is_refused_as_bad_input_and_stores_nothing(client):
    org = client.post("/organisations", json={"name": "Acme"}).json()
    # a valid date whose due date (14 days on) is past the calendar's end: refused before,
    # as more than a year ahead
    answer = client.post("/invoices", json={"organisation_id": org["id"],
                                            "issue_date": "9999-12-20"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "ValidationFailed"
    assert "more than a year after today" in answer.json()["detail"]
    assert client.get(f"/invoices?organisation_id={org['id']}").json() == []


def test_a_later_batch_waits_for_an_earlier_preview_so_numbers_follow_dates(client, counters):
    """Confirming May's batch while April's is still a preview would number May's invoices
    first and then move the schedule back to April: refused (409), nothing finalised."""
    org = client.post("/organisations", json={"name": "Acme"}).json()
    with session_scope(client.app.state.ctx.engine) as s:
        schedule = create_recurring(s, org["id"], dt.date(2026, 4, 1))
        add_recurring_line(s, recurring_id=schedule.id, line_type="standard",
                           description="Support", unit_price="100.00")
        schedule_id = schedule.id
    april = client.post("/batches", json={"run_date": "2026-04-01"}).json()
    may = client.post("/batches", json={"run_date": "2026-05-01"}).json()
    assert len(april["invoices"]) == len(may["invoices"]) == 1

    # discarding April alone would leave April unbilled: May was drafted without it
    kept = client.post(f"/batches/{april['id']}/discard")
    assert kept.status_code == 409 and f"discard batch {may['id']}" in kept.json()["detail"]
    refused = client.post(f"/batches/{may['id']}/confirm")
    assert refused.status_code == 409
    assert (f"billing batch {april['id']} (run date 2026-04-01) is still a preview"
            in refused.json()["detail"])
    assert client.get(f"/batches/{may['id']}").json()["status"] == "preview"

    assert client.post(f"/batches/{april['id']}/confirm").json()["status"] == "confirmed"
    assert client.post(f"/batches/{may['id']}/confirm").json()["status"] == "confirmed"
    numbers = [client.get(f"/batches/{b['id']}").json()["invoices"][0]["number"]
               for b in (april, may)]
    assert numbers == sorted(numbers) and numbers[0] != numbers[1]
    from hub.db.models import RecurringInvoice

    with session_scope(client.app.state.ctx.engine) as s:
        assert s.get(RecurringInvoice, schedule_id).next_run_date == dt.date(2026, 6, 1)
