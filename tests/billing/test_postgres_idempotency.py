"""On real PostgreSQL, two requests with one ``Idempotency-Key`` at the same moment record the
money once: the second waits for the first's transaction at the key's unique index and answers
with the first's stored answer; one that waits too long is refused with 409, recording nothing.
(The rest of the key's behaviour, on SQLite: tests/ledger/test_api_idempotency.py.)"""

from __future__ import annotations

import threading
import time

import pytest
from sqlmodel import Session, select

import hub.ledger
import hub.web.idempotency
from hub.db.models import Invoice, Payment
from hub.db.models.idempotency import IdempotencyKey
from hub.db.models.ledger import PreBill
from hub.testing.api import api_client

pytestmark = pytest.mark.postgres

KEY = "Idempotency-Key"


@pytest.fixture
def ctx(hub_postgres_url, tmp_path, make_ctx):
    return make_ctx(hub_postgres_url, tmp_path)


@pytest.fixture
def slow_payments(monkeypatch):
    """Recording a payment takes ``seconds`` more, inside its transaction (the key claimed and
    the payment written, nothing committed): the moment a second request must not slip in."""
    real = hub.ledger.record_payment

    def set_delay(seconds: float) -> None:
        def slow(*args, **kwargs):
            payment = real(*args, **kwargs)
            time.sleep(seconds)
            return payment
        monkeypatch.setattr(hub.ledger, "record_payment", slow)

    return set_delay


@pytest.fixture
def slow_prebills(monkeypatch):
    """Making a pre-bill (its final invoice posted, nothing committed) takes half a second
    more, inside its transaction."""
    real = hub.ledger.create_prebill

    def slow(*args, **kwargs):
        prebill = real(*args, **kwargs)
        time.sleep(0.5)
        return prebill
    monkeypatch.setattr(hub.ledger, "create_prebill", slow)


def _payments(ctx) -> list[Payment]:
    with Session(ctx.engine) as session:
        return session.exec(select(Payment)).all()


def _at_once(requests, path: str = "/payments") -> tuple[list, list]:
    """Send each ``(client, body, delay)`` to ``path`` from its own thread, all started
    together (after its delay); the answers, and when each was sent and answered, in the same
    order."""
    answers: list = [None] * len(requests)
    times: list = [None] * len(requests)
    start = threading.Barrier(len(requests))

    def send(i: int, client, body: dict, delay: float) -> None:
        start.wait()
        time.sleep(delay)
        sent = time.monotonic()
        answers[i] = client.post(path, json=body, headers={KEY: "pay-once"})
        times[i] = (sent, time.monotonic())

    threads = [threading.Thread(target=send, args=(i, *r)) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    return answers, times


def test_two_requests_with_one_key_at_once_record_one_payment(ctx, slow_payments):
    slow_payments(0.5)
    with api_client(ctx, "first") as first, api_client(ctx, "second") as second:
        org = first.post("/organisations", json={"name": "Acme"}).json()["id"]
        body = {"organisation_id": org, "amount": "10.00"}
        (a, b), times = _at_once([(first, body, 0), (second, body, 0)])
    # Both were sent before either was answered: the second did not simply come later.
    assert max(sent for sent, _ in times) < min(answered for _, answered in times)
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert a.json() == b.json()
    assert [p.id for p in _payments(ctx)] == [a.json()["id"]]


def test_two_prebills_with_one_key_at_once_make_one_prebill_and_one_invoice(ctx, slow_prebills):
    """A creating route (tests/ledger/test_api_idempotency_creates.py) holds its key the same
    way: without it these two would be two pre-bills, each a final invoice."""
    with api_client(ctx, "first") as first, api_client(ctx, "second") as second:
        org = first.post("/organisations", json={"name": "Acme"}).json()["id"]
        body = {"organisation_id": org, "project": "Web", "stage": "Build",
                "stage_fee": "1000", "percent": "50"}
        (a, b), times = _at_once([(first, body, 0), (second, body, 0)], "/prebills")
    assert max(sent for sent, _ in times) < min(answered for _, answered in times)
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert a.json() == b.json()
    assert {a.headers.get("Idempotent-Replayed"), b.headers.get("Idempotent-Replayed")} == \
        {None, "true"}
    with Session(ctx.engine) as session:
        assert [p.id for p in session.exec(select(PreBill))] == [a.json()["id"]]
        assert len(session.exec(select(Invoice)).all()) == 1


def test_a_request_that_waits_too_long_for_its_key_is_refused_with_409(ctx, slow_payments,
                                                                       monkeypatch):
    slow_payments(2)
    monkeypatch.setattr(hub.web.idempotency, "WAIT_SECONDS", 0.3)
    with api_client(ctx, "first") as first, api_client(ctx, "second") as second:
        org = first.post("/organisations", json={"name": "Acme"}).json()["id"]
        body = {"organisation_id": org, "amount": "10.00"}
        (a, b), _ = _at_once([(first, body, 0), (second, body, 0.5)])
        assert a.status_code == 201, a.text
        assert b.status_code == 409, b.text
        assert "is still in progress" in b.json()["detail"]
        assert len(_payments(ctx)) == 1
        # Sent again once the first has finished, it gets the first's answer.
        again = second.post("/payments", json=body, headers={KEY: "pay-once"})
    assert again.status_code == 201 and again.json() == a.json()
    assert len(_payments(ctx)) == 1


def test_a_key_older_than_a_day_is_a_new_request_on_postgresql(ctx):
    with api_client(ctx, "first") as client:
        org = client.post("/organisations", json={"name": "Acme"}).json()["id"]
        body = {"organisation_id": org, "amount": "10.00"}
        first = client.post("/payments", json=body, headers={KEY: "daily"})
        client.post("/payments", json=body, headers={KEY: "other"})
        ctx.clock.advance(hours=23)
        assert client.post("/payments", json=body, headers={KEY: "daily"}).json() == \
            first.json()
        ctx.clock.advance(hours=2)
        later = client.post("/payments", json=body, headers={KEY: "daily"})
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]
    assert len(_payments(ctx)) == 3
    with Session(ctx.engine) as session:  # storing it forgot the expired keys
        assert session.exec(select(IdempotencyKey.key)).all() == ["daily"]


@pytest.fixture
def contract(ctx, monkeypatch):
    """A contract of three monthly cycles (100.00 each) for ``Acme``, whose invoice takes half
    a second more to store, inside its transaction (the invoice stored and the key taken,
    nothing committed): the moment a second request must not slip in."""
    import datetime as dt

    import hub.billing.contracts as contracts
    from hub.billing.recurring import add_recurring_line
    from hub.db.engine import session_scope

    real = contracts.store_contract_invoice

    def slow(*args, **kwargs):
        done = real(*args, **kwargs)
        time.sleep(0.5)
        return done
    monkeypatch.setattr(contracts, "store_contract_invoice", slow)
    with api_client(ctx, "setup") as client:
        org = client.post("/organisations", json={"name": "Acme"}).json()["id"]
    with session_scope(ctx.engine) as session:
        made = contracts.create_contract(session, org, "Support", dt.date(2026, 1, 1),
                                         cycles=3, today=dt.date(2026, 1, 1)).id
        add_recurring_line(session, contract_id=made, description="Plan", unit_price="100")
    return made


@pytest.mark.parametrize("many", [False, True], ids=["one", "many"])
def test_two_contract_invoices_with_one_key_at_once_make_one_invoice(ctx, contract, many):
    """Both requests choose the same cycle (neither has stored it yet) and meet at the key in
    their storing transactions: the second answers with the first's invoice, not a refusal
    and not a second invoice (``/contracts/invoice-many`` keeps a key per contract)."""
    path, body = ((f"/contracts/{contract}/invoice", {}) if not many
                  else ("/contracts/invoice-many", {"contracts": [contract]}))
    with api_client(ctx, "first") as first, api_client(ctx, "second") as second:
        (a, b), times = _at_once([(first, body, 0), (second, body, 0)], path)
    assert max(sent for sent, _ in times) < min(answered for _, answered in times)
    assert a.status_code == b.status_code == 200, (a.text, b.text)
    assert a.json() == b.json()
    made = a.json()["outcomes"][0] if many else a.json()
    assert made["cycle"] == 1
    with Session(ctx.engine) as session:
        assert [i.id for i in session.exec(select(Invoice))] == [made["invoice"]["id"]]
