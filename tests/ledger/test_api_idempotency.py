"""An integrator that loses the answer to a money-recording request may send it again with the
same ``Idempotency-Key``: it gets the first answer back and the money is recorded once. A key
sent with another request is refused, a malformed key is refused, a refused request stores no
key, and a key is forgotten after 24 hours. (Two requests with one key at the same moment on
PostgreSQL: tests/billing/test_postgres_idempotency.py.)"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from hub.db.models import CreditNote, Payment
from hub.testing.snapshots import every_row

KEY = "Idempotency-Key"


@pytest.fixture
def org(api):
    return api.post("/organisations", json={"name": "Acme"}).json()["id"]


def _rows(api_ctx) -> dict:
    return every_row(api_ctx.engine)


def _all(api_ctx, model) -> list:
    with Session(api_ctx.engine) as session:
        return session.exec(select(model).order_by(model.id)).all()


def _keys(api_ctx) -> list:
    from hub.db.models.idempotency import IdempotencyKey

    return _all(api_ctx, IdempotencyKey)


def _twice(api, path: str, body: dict, key: str):
    """The same request sent twice with ``key``: both answers."""
    return [api.post(path, json=body, headers={KEY: key}) for _ in range(2)]


def test_a_payment_sent_twice_with_one_key_is_recorded_once_and_answered_alike(api_ctx, api, org):
    first, again = _twice(api, "/payments", {"organisation_id": org, "amount": "10.00"},
                          "pay-7f3c")
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert [p.id for p in _all(api_ctx, Payment)] == [first.json()["id"]]
    [stored] = _keys(api_ctx)
    assert (stored.key, stored.route, stored.token_name, stored.status_code) == \
        ("pay-7f3c", "POST /payments", "integrator", 201)
    assert stored.response == first.json()


def test_without_a_key_a_repeat_is_a_second_payment_as_before_and_no_key_is_stored(api_ctx, api,
                                                                                     org):
    body = {"organisation_id": org, "amount": "10.00"}
    answers = [api.post("/payments", json=body) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    assert len(_all(api_ctx, Payment)) == 2
    assert _keys(api_ctx) == []


def test_keys_in_another_spelling_of_the_same_body_replay(api_ctx, api, org):
    """The body is compared as JSON values: other spacing or key order is the same request."""
    first = api.post("/payments", json={"organisation_id": org, "amount": "10.00"},
                     headers={KEY: "k"})
    again = api.post("/payments", headers={KEY: "k", "Content-Type": "application/json"},
                     content=f'{{ "amount": "10.00",  "organisation_id": {org} }}')
    assert again.status_code == 201 and again.json() == first.json()
    assert len(_all(api_ctx, Payment)) == 1


def test_a_key_sent_with_another_body_or_route_is_refused_and_nothing_is_stored(api_ctx, api, org):
    api.post("/payments", json={"organisation_id": org, "amount": "10.00"}, headers={KEY: "k1"})
    before = _rows(api_ctx)
    other_body = api.post("/payments", json={"organisation_id": org, "amount": "11.00"},
                          headers={KEY: "k1"})
    assert other_body.status_code == 422, other_body.text
    detail = other_body.json()["detail"]
    assert "'k1' was already used for another request (POST /payments" in detail
    assert "send a new Idempotency-Key" in detail
    other_route = api.post("/credit-notes", headers={KEY: "k1"}, json={
        "organisation_id": org, "lines": [{"description": "goodwill", "unit_price": "5"}]})
    assert other_route.status_code == 422, other_route.text
    assert "already used for another request (POST /payments)" in other_route.json()["detail"]
    assert _rows(api_ctx) == before


@pytest.mark.parametrize("key,why", [
    ("", "is empty"),
    ("   ", "is empty"),
    ("x" * 256, "is 256 characters long, more than the 255"),
    ("x" * 300, "is 300 characters long"),
    ("clé-1".encode(), "not printable ASCII (character 3)"),
    ("tab\there", "not printable ASCII (character 4)"),
])
def test_a_malformed_key_is_refused_saying_what_to_send(api_ctx, api, org, key, why):
    before = _rows(api_ctx)
    answer = api.post("/payments", json={"organisation_id": org, "amount": "10.00"},
                      headers={KEY: key})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert "the Idempotency-Key header" in detail and why in detail, detail
    assert "1 to 255 printable ASCII characters" in detail
    assert _rows(api_ctx) == before


def test_a_key_of_255_printable_characters_is_taken(api_ctx, api, org):
    key = ("a-Z 0~!" * 40)[:255]
    first, again = _twice(api, "/payments", {"organisation_id": org, "amount": "1"}, key)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert [k.key for k in _keys(api_ctx)] == [key]


def test_a_refund_sent_twice_with_one_key_is_made_once(api_ctx, api, org):
    paid = api.post("/payments", json={"organisation_id": org, "amount": "10.00"}).json()["id"]
    other = api.post("/payments", json={"organisation_id": org, "amount": "10.00"}).json()["id"]
    first, again = _twice(api, f"/payments/{paid}/refund", {"amount": "4.00"}, "refund-1")
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    refunds = [p for p in _all(api_ctx, Payment) if p.refund_of_id is not None]
    assert [(r.refund_of_id, r.amount) for r in refunds] == [(paid, Decimal("-4"))]
    # The path is part of the request: the key cannot refund another payment.
    elsewhere = api.post(f"/payments/{other}/refund", json={"amount": "4.00"},
                         headers={KEY: "refund-1"})
    assert elsewhere.status_code == 422 and "with another path or body" in elsewhere.text
    assert len([p for p in _all(api_ctx, Payment) if p.refund_of_id is not None]) == 1


def test_a_credit_note_sent_twice_with_one_key_is_made_once(api_ctx, api, org):
    body = {"organisation_id": org, "lines": [{"description": "goodwill", "unit_price": "5"}]}
    first, again = _twice(api, "/credit-notes", body, "cn-1")
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    assert [n.id for n in _all(api_ctx, CreditNote)] == [first.json()["id"]]


def test_mark_paid_sent_twice_with_one_key_answers_the_payment_both_times(
        api_ctx, api, acme_with_posted_invoice):
    _, invoice = acme_with_posted_invoice(api_ctx.engine, number="INV-1",
                                          issue_date=dt.date(2025, 12, 1),
                                          due_date=dt.date(2025, 12, 15))
    first, again = _twice(api, f"/ledger/invoices/{invoice}/mark-paid", {}, "paid-1")
    # Without the key the repeat would be refused (the invoice is paid): the integrator could
    # not tell "paid by my first request" from "refused".
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    assert len(_all(api_ctx, Payment)) == 1


def test_allocations_and_applied_credit_sent_twice_with_one_key_are_made_once(api_ctx, api, org):
    payment = api.post("/payments", json={"organisation_id": org, "amount": "30.00"}).json()
    note = api.post("/credit-notes", json={"organisation_id": org, "lines": [
        {"description": "goodwill", "unit_price": "20"}]}).json()
    invoice = api.post("/invoices", json={"organisation_id": org}).json()["id"]
    api.post(f"/invoices/{invoice}/lines", json={"description": "Switch", "unit_price": "100"})
    assert api.post(f"/invoices/{invoice}/finalise").status_code == 200
    for path, body in ((f"/payments/{payment['id']}/allocate", {str(invoice): "10.00"}),
                       (f"/credit-notes/{note['id']}/apply/{invoice}", {"amount": "5.00"}),
                       (f"/ledger/invoices/{invoice}/pay-from-balance", {"amount": "3.00"})):
        first, again = _twice(api, path, body, f"key for {path}")
        assert first.status_code == again.status_code == 200, (path, first.text, again.text)
        assert again.json() == first.json()
    # 100 less 10, 5 and 3 once each (twice each would leave 64.00).
    due = api.get(f"/ledger/invoices/{invoice}").json()["amount_due"]
    assert Decimal(due) == Decimal("82")


def test_a_refused_request_stores_no_key_which_then_serves_the_fixed_request(api_ctx, api, org):
    refused = api.post("/payments", json={"organisation_id": org, "amount": "10.00",
                                          "invoice_id": 999}, headers={KEY: "k"})
    assert refused.status_code == 404, refused.text
    assert _keys(api_ctx) == []
    fixed, again = _twice(api, "/payments", {"organisation_id": org, "amount": "10.00"}, "k")
    assert fixed.status_code == again.status_code == 201 and again.json() == fixed.json()
    assert len(_all(api_ctx, Payment)) == 1


def test_a_key_is_remembered_for_24_hours_then_it_is_a_new_request(api_ctx, api, org, hub_clock):
    body = {"organisation_id": org, "amount": "10.00"}
    first = api.post("/payments", json=body, headers={KEY: "daily"})
    api.post("/payments", json=body, headers={KEY: "other"})
    hub_clock.advance(hours=23, minutes=59)
    assert api.post("/payments", json=body, headers={KEY: "daily"}).json() == first.json()
    assert len(_all(api_ctx, Payment)) == 2
    hub_clock.advance(minutes=2)
    later = api.post("/payments", json=body, headers={KEY: "daily"})
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]
    assert len(_all(api_ctx, Payment)) == 3
    # Storing a key forgot the expired ones, the other key's too.
    [stored] = _keys(api_ctx)
    assert stored.key == "daily" and stored.response == later.json()


MONEY_ROUTES = {
    ("post", "/payments"), ("post", "/payments/{payment_id}/refund"),
    ("post", "/payments/{payment_id}/allocate"),
    ("post", "/ledger/invoices/{invoice_id}/mark-paid"),
    ("post", "/ledger/invoices/{invoice_id}/pay-from-balance"),
    ("post", "/credit-notes"), ("post", "/credit-notes/{credit_note_id}/apply/{invoice_id}"),
    ("post", "/organisations/{organisation_id}/refund-balance"),
}
#: Routes that create records a repeat would duplicate (test_api_idempotency_creates.py).
CREATING_ROUTES = {
    ("post", "/prebills"), ("post", "/wip"), ("post", "/prebills/{prebill_id}/attach"),
    ("post", "/invoices"), ("post", "/invoices/{invoice_id}/lines"), ("post", "/organisations"),
    ("post", "/invoices/{invoice_id}/convert"), ("post", "/tickets/{ticket_id}/invoice"),
    ("post", "/contracts/{contract_id}/invoice"), ("post", "/contracts/invoice-many"),
}
#: Routes whose repeat would email the customer twice (tests/documents/test_send_idempotency.py).
SENDING_ROUTES = {("post", "/invoices/{invoice_id}/send")}


def test_every_keyed_route_documents_the_key_and_no_other_does(api):
    spec = api.get("/openapi.json").json()
    keyed = {(method, path) for path, operations in spec["paths"].items()
             for method, operation in operations.items()
             if any(p.get("name") == KEY and p.get("in") == "header"
                    for p in operation.get("parameters", []))}
    assert keyed == MONEY_ROUTES | CREATING_ROUTES | SENDING_ROUTES
