"""The ledger over the REST API: refusals for locked documents (stored document unchanged),
payments, credit notes, statements, pre-bills; the overdue hook reaches plugins."""

from __future__ import annotations

import datetime as dt

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient
from sqlmodel import Session

from hub import hookimpl
from hub.db.models import Invoice
from hub.jobs import build_runtime
from hub.ledger import run_overdue_check
from hub.web.app import create_app
from hub.web.tokens import create_token


class OverdueListener:
    def __init__(self):
        self.calls = []

    @hookimpl
    def hub_invoice_overdue(self, invoice_id, organisation_id, due_date, days_overdue):
        self.calls.append((invoice_id, organisation_id, due_date, days_overdue))


@pytest.fixture
def listener():
    return OverdueListener()


@pytest.fixture
def api(make_hub_context, listener, acme_with_posted_invoice):
    ctx = make_hub_context(listener)
    runtime = build_runtime(ctx, broker=StubBroker())
    client = TestClient(create_app(ctx, runtime))
    client.headers["Authorization"] = f"Bearer {create_token(ctx.engine, 'ledger')}"
    org_id, invoice_id = acme_with_posted_invoice(
        ctx.engine, number="INV-1", issue_date=dt.date(2025, 12, 1),
        due_date=dt.date(2025, 12, 15), memo="memo")
    yield ctx, client, org_id, invoice_id
    runtime.close()


def _lock(ctx, invoice_id):
    with Session(ctx.engine) as s:
        inv = s.get(Invoice, invoice_id)
        inv.locked_at, inv.locked_by = dt.datetime(2025, 12, 2, tzinfo=dt.timezone.utc), "xero"
        s.add(inv)
        s.commit()


def _read(ctx, invoice_id):
    with Session(ctx.engine) as s:
        return s.get(Invoice, invoice_id).model_dump()


@pytest.mark.parametrize("call", [
    lambda c, i: c.patch(f"/ledger/invoices/{i}", json={"memo": "changed"}),
    lambda c, i: c.delete(f"/ledger/invoices/{i}"),
    lambda c, i: c.delete(f"/ledger/invoices/{i}", params={"completely": True}),
])
def test_api_refuses_to_edit_or_delete_a_locked_invoice(api, call):
    ctx, client, _, invoice_id = api
    _lock(ctx, invoice_id)
    before = _read(ctx, invoice_id)
    answer = call(client, invoice_id)
    assert answer.status_code == 409
    assert answer.json()["error"] == "DocumentLocked"
    assert "synced to accounting (xero)" in answer.json()["detail"]
    assert "credit note" in answer.json()["detail"]
    assert _read(ctx, invoice_id) == before


def test_api_payment_credit_note_statement(api):
    ctx, client, org_id, invoice_id = api
    answer = client.post("/payments", json={"organisation_id": org_id, "amount": "30",
                                            "method": "cash", "invoice_id": invoice_id})
    assert answer.status_code == 201, answer.text
    pay = answer.json()
    assert pay["links"]["invoices"][0]["applied"] == "30.00"
    answer = client.post("/credit-notes", json={"invoice_id": invoice_id, "lines": [
        {"description": "discount", "unit_price": "20"}]})
    assert answer.status_code == 201, answer.text
    view = client.get(f"/ledger/invoices/{invoice_id}").json()
    # past due on the hub clock (2026-01-01): overdue, not partially paid (seed 002)
    assert (view["status"], view["amount_due"]) == ("overdue", "50.00")
    assert len(view["links"]["payments"]) == 1 and len(view["links"]["credit_notes"]) == 1
    refused = client.post(f"/payments/{pay['id']}/refund", json={"amount": "31"})
    assert refused.status_code == 422
    assert "between 0.01 USD and 30.00 USD" in refused.json()["detail"]
    st = client.get(f"/organisations/{org_id}/statement",
                    params={"start": "2025-12-01", "end": "2026-01-31"}).json()
    assert st["totals"]["paid"]["amount"] == "50.00"
    assert client.get(f"/organisations/{org_id}/account").json()["balance"] == "-50.00"


def test_api_prebill_september_october(api):
    ctx, client, org_id, _ = api
    negative = client.post("/prebills", json={"organisation_id": org_id, "project": "Web",
                                              "stage": "Build", "stage_fee": "-1000",
                                              "percent": "50"})
    assert negative.status_code == 422 and "is not a fee" in negative.json()["detail"]
    pb = client.post("/prebills", json={"organisation_id": org_id, "project": "Web",
                                        "stage": "Build", "stage_fee": "1000", "value": "1000"})
    assert pb.status_code == 201, pb.text
    for day, value in [("2025-09-05", "800"), ("2025-10-05", "600")]:
        assert client.post("/wip", json={"organisation_id": org_id, "project": "Web",
                                         "stage": "Build", "value": value,
                                         "date": day}).status_code == 201
    pid = pb.json()["id"]
    opts = client.get(f"/prebills/{pid}/options", params={
        "method": "range", "start": "2025-09-01", "end": "2025-09-30"}).json()
    assert [(o["use"], o["billed"], o["balance_after"]) for o in opts] == [
        ("markup", "1000.00", "0.00"), ("exact", "800.00", "200.00")]
    done = client.post(f"/prebills/{pid}/attach", json={
        "method": "range", "use": "exact", "start": "2025-09-01", "end": "2025-09-30"}).json()
    assert (done["balance_after"], done["closed"]) == ("200.00", False)


def test_overdue_check_emits_the_hook_once(api, listener):
    ctx, _, org_id, invoice_id = api
    assert run_overdue_check(ctx, dt.date(2025, 12, 20)) == [invoice_id]
    assert run_overdue_check(ctx, dt.date(2025, 12, 21)) == []
    assert listener.calls == [(invoice_id, org_id, dt.date(2025, 12, 15), 5)]
