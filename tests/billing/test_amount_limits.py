"""Amounts that pass their own checks and still cannot be stored: quantity × unit price (plus
tax, plus the invoice's other lines) past the 15 integer digits of the money columns. Adding an
invoice line and changing a template line refuse them at the door (422 naming the field and the
largest amount allowed, nothing stored); a billing run that meets one planted past the door
leaves the agreement out with the reason in words. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import select

from hub.billing import preview
from hub.billing.catalogue import create_organisation
from hub.billing.isolation import reason_of
from hub.billing.recurring import add_recurring_line, create_recurring
from hub.db.engine import session_scope
from hub.db.models import Invoice, InvoiceLine, RecurringLine
from hub.errors import ValidationFailed
from hub.jobs import build_runtime
from hub.web.app import create_app
from hub.web.tokens import create_token

LARGEST = "999999999999999.99"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def context(request, ctx, make_ctx, tmp_path):
    if request.param == "sqlite":
        return ctx
    return make_ctx(request.getfixturevalue("hub_postgres_url"), tmp_path / "pg")


@pytest.fixture
def client(context):
    runtime = build_runtime(context, broker=StubBroker())
    token = create_token(context.engine, "limits")
    with TestClient(create_app(context, runtime),
                    headers={"Authorization": f"Bearer {token}"}) as test_client:
        yield test_client
    runtime.close()


def _draft(client) -> int:
    org = client.post("/organisations", json={"name": "Acme", "currency": "USD"}).json()
    return client.post("/invoices", json={"organisation_id": org["id"],
                                          "issue_date": "2026-03-15"}).json()["id"]


def _stored(context, invoice_id):
    with session_scope(context.engine) as s:
        invoice = s.get(Invoice, invoice_id)
        lines = s.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id)).all()
        return ((invoice.subtotal, invoice.tax_total, invoice.total),
                sorted((l.description, l.amount) for l in lines))


@pytest.mark.parametrize("line", [
    {"quantity": "1", "unit_price": "999999999999999.9999"},  # rounds to 16 digits
    {"quantity": "999999999999999.9999", "unit_price": "10"},
    {"quantity": "1000", "unit_price": "999999999999.99", "tax_rate": "20"},
    {"quantity": "999999999999999.9999", "unit_price": "999999999999999.9999"},
], ids=["rounding", "quantity", "tax", "both-huge"])
def test_an_invoice_line_too_large_to_store_is_a_422(client, context, line):
    invoice_id = _draft(client)
    client.post(f"/invoices/{invoice_id}/lines", json={"description": "ok", "unit_price": "5"})
    before = _stored(context, invoice_id)
    answer = client.post(f"/invoices/{invoice_id}/lines", json={"description": "big", **line})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert "unit_price" in detail and LARGEST in detail, detail
    assert _stored(context, invoice_id) == before


def test_a_line_that_fits_but_overflows_the_invoice_total_is_a_422(client, context):
    invoice_id = _draft(client)
    first = client.post(f"/invoices/{invoice_id}/lines",
                        json={"description": "a", "unit_price": "600000000000000"})
    assert first.status_code == 201, first.text
    before = _stored(context, invoice_id)
    answer = client.post(f"/invoices/{invoice_id}/lines",
                         json={"description": "b", "unit_price": "600000000000000"})
    assert answer.status_code == 422, answer.text
    assert "the invoice would total" in answer.json()["detail"]
    assert LARGEST in answer.json()["detail"]
    assert _stored(context, invoice_id) == before


def _template_line(context, quantity="2") -> int:
    with session_scope(context.engine) as s:
        org = create_organisation(s, "Acme")
        schedule = create_recurring(s, org.id, dt.date(2026, 3, 1))
        return add_recurring_line(s, recurring_id=schedule.id, description="Backup",
                                  unit_price="20", quantity=quantity).id


def _line_values(context, line_id):
    with session_scope(context.engine) as s:
        line = s.get(RecurringLine, line_id)
        return line.quantity, line.unit_price, line.tax_rate


@pytest.mark.parametrize("body", [
    {"quantity": "1", "unit_price": "999999999999999.9999"},
    {"unit_price": "999999999999999"},  # × the stored quantity 2
    {"quantity": "100000000000000"},  # × the stored price 20
    {"unit_price": "900000000000000", "quantity": "1", "tax_rate": "20"},
])
def test_a_template_line_too_large_to_bill_is_a_422(client, context, body):
    line_id = _template_line(context)
    before = _line_values(context, line_id)
    answer = client.patch(f"/recurring-lines/{line_id}", json=body)
    assert answer.status_code == 422, answer.text
    assert LARGEST in answer.json()["detail"] and "unit_price" in answer.json()["detail"]
    assert _line_values(context, line_id) == before


def test_adding_a_template_line_too_large_to_bill_is_refused(context):
    with session_scope(context.engine) as s:
        org = create_organisation(s, "Acme")
        schedule = create_recurring(s, org.id, dt.date(2026, 3, 1))
        with pytest.raises(ValidationFailed, match=LARGEST):
            add_recurring_line(s, recurring_id=schedule.id, description="Backup",
                               unit_price="999999999999999.9999")


@pytest.mark.parametrize("lines", [
    [("999999999999999.9999", "1")],  # one line rounds past the columns
    [("999999999999999", "1")] * 4,  # each fits, the invoice does not
])
def test_a_run_names_an_amount_too_large_in_words(context, lines):
    with session_scope(context.engine) as s:
        good = create_organisation(s, "Good")
        add_recurring_line(s, recurring_id=create_recurring(s, good.id, dt.date(2026, 3, 1)).id,
                           description="Internet", unit_price="45")
        org = create_organisation(s, "Huge")
        schedule = create_recurring(s, org.id, dt.date(2026, 3, 1))
        ids = [add_recurring_line(s, recurring_id=schedule.id, description=f"Line {n}",
                                  unit_price="1").id for n in range(len(lines))]
        table = RecurringLine.__table__
        for line_id, (price, quantity) in zip(ids, lines):  # past the door, as old data is
            s.execute(update(table).where(table.c.id == line_id).values(
                unit_price=Decimal(price), quantity=Decimal(quantity)))
    summary = preview(context, dt.date(2026, 3, 1))
    assert summary.invoices == 1
    [left] = summary.left_out
    assert left["organisation"] == "Huge"
    assert "ValueError" not in left["reason"]
    assert "largest amount allowed" in left["reason"]
    assert f"hub recurring edit-line {ids[0]}" in left["reason"]  # the largest line


def test_a_storing_error_of_too_many_digits_reads_in_words():
    reason = reason_of(ValueError("4000000000000181.0000 has more than 15 integer digits"))
    assert not reason.startswith("ValueError")
    assert "4000000000000181.0000" in reason and "lower the price or quantity" in reason
