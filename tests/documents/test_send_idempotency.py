"""``POST /invoices/{id}/send`` takes an ``Idempotency-Key`` as the other keyed routes do
(tests/ledger/test_api_idempotency*.py): a client that lost the 202 repeats the request with
its key and gets the first answer back, with one email queued, not two; the key used with
another body is refused (422) and queues nothing; a refused send stores no key, so the same
request may be sent again once the cause is fixed."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from hub.db.engine import session_scope
from hub.db.models import Organisation, OutboxEntry
from hub.db.models.idempotency import IdempotencyKey
from hub.testing.api import api_client

KEY = "Idempotency-Key"


def _outbox(engine) -> list[OutboxEntry]:
    with session_scope(engine) as session:
        return list(session.execute(select(OutboxEntry).order_by(OutboxEntry.id)).scalars())


def _keys(engine) -> list[str]:
    with session_scope(engine) as session:
        return list(session.execute(select(IdempotencyKey.key)).scalars())


@pytest.fixture
def api(make_context):
    """The REST API over the documents' test database."""
    with api_client(make_context()) as client:
        yield client


def test_a_repeat_with_the_key_replays_the_first_answer_and_queues_one_email(
        api, engine, one_time_invoice):
    path = f"/invoices/{one_time_invoice.invoice_id}/send"
    first = api.post(path, json={"to": ["ap@acme.test"]}, headers={KEY: "send-1"})
    assert first.status_code == 202, first.text
    assert "Idempotent-Replayed" not in first.headers
    # The same values re-serialised (spacing) are the same request.
    again = api.post(path, content=b'{ "to" : ["ap@acme.test"] }',
                     headers={KEY: "send-1", "Content-Type": "application/json"})
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    (row,) = _outbox(engine)
    assert row.id == first.json()["outbox_id"] and row.payload["to"] == ["ap@acme.test"]


def test_the_key_with_another_body_is_refused_and_queues_nothing(api, engine,
                                                                 one_time_invoice):
    path = f"/invoices/{one_time_invoice.invoice_id}/send"
    assert api.post(path, json={}, headers={KEY: "send-2"}).status_code == 202
    other = api.post(path, json={"to": ["cfo@acme.test"]}, headers={KEY: "send-2"})
    assert other.status_code == 422, other.text
    assert other.json()["error"] == "ValidationFailed"
    assert "was already used for another request" in other.json()["detail"]
    assert len(_outbox(engine)) == 1
    # Without a key every request is its own: a second email is queued.
    assert api.post(path, json={}).status_code == 202
    assert len(_outbox(engine)) == 2


def test_a_refused_send_keeps_no_key(api, engine, build):
    with session_scope(engine) as session:
        org = build.organisation(session, name="Quiet Ltd", email=None)
        invoice_id = build.invoice(session, org, [{"description": "Switch",
                                                   "unit_price": "100"}],
                                   number="2026030001", status="unpaid",
                                   issue_date=dt.date(2026, 3, 1),
                                   due_date=dt.date(2026, 3, 15)).id
    path = f"/invoices/{invoice_id}/send"
    refused = api.post(path, json={}, headers={KEY: "send-3"})
    assert refused.status_code == 422 and "no recipient" in refused.json()["detail"]
    assert _keys(engine) == [] and _outbox(engine) == []
    with session_scope(engine) as session:
        session.execute(select(Organisation)).scalar_one().email = "ap@quiet.test"
    queued = api.post(path, json={}, headers={KEY: "send-3"})
    assert queued.status_code == 202 and "Idempotent-Replayed" not in queued.headers
    assert _keys(engine) == ["send-3"] and len(_outbox(engine)) == 1
