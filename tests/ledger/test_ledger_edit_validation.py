"""Editing an invoice takes a typed body (InvoiceChanges), in the API and the CLI alike: a
wrong type, a null for a required field, an unknown field, a tax rate over 100 %, an overlong
text, dates out of order or amounts the money columns cannot hold are one-line refusals (422,
exit code 2) and the invoice, its lines and its ledger entries stay as they were. On SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient
from sqlmodel import Session, select

import hub.db.models as models
from hub.cli import state as cli_state
from hub.cli.main import main
from hub.config import HubSettings
from hub.db.engine import make_engine
from hub.db.models import Invoice, InvoiceLine, Transaction
from hub.host.context import HubContext
from hub.jobs import build_runtime
from hub.web.app import create_app
from hub.web.tokens import create_token

_LINE = {"description": "support", "quantity": "1", "unit_price": "10"}

#: Bodies the tester sent to ``PATCH /ledger/invoices/{id}`` (500s, or stored wrong).
BAD_BODIES = [
    {"note": None}, {"note": ["a"]}, {"note": 5}, {"memo": {"a": 1}}, {"memo": "m" * 5001},
    {"number": 5}, {"number": "N" * 10_000}, {"number": " "},
    {"issue_date": 5}, {"issue_date": None}, {"issue_date": "2026-02-30"},
    {"issue_date": "20260301"}, {"due_date": None}, {"due_date": "2025-11-30"},
    {"period_start": 5}, {"period_start": "2026-01-10", "period_end": "2026-01-01"},
    {"extra_fields": None}, {"extra_fields": ["a"]},
    {"lines": "abc"}, {"lines": ["x"]}, {"lines": None}, {"lines": 5}, {"lines": []},
    {"lines": [{"description": "x"}]},
    {"lines": [{**_LINE, "unit_price": "abc"}]}, {"lines": [{**_LINE, "unit_price": "NaN"}]},
    {"lines": [{**_LINE, "unit_price": "1e400"}]}, {"lines": [{**_LINE, "unit_price": 1.5}]},
    {"lines": [{**_LINE, "unit_price": "-10"}]},
    {"lines": [{**_LINE, "quantity": "-1"}]}, {"lines": [{**_LINE, "tax_rate": "500"}]},
    {"lines": [{**_LINE, "description": "d" * 10_000}]}, {"lines": [{**_LINE, "description": ""}]},
    {"lines": [{**_LINE, "colour": "red"}]},
    {"status": "paid"}, {"total": "0"},
]

#: Amounts each of which fits its column, while the line or the invoice would not.
OVERFLOWING_LINES = [
    [{**_LINE, "unit_price": "999999999999999.99", "quantity": "10"}],
    [{**_LINE, "unit_price": "999999999999999.9999"}],  # rounds up to 16 digits
    [{**_LINE, "unit_price": "999999999999999.9999", "quantity": "999999999999999.9999"}],
    [{**_LINE, "unit_price": "900000000000000", "tax_rate": "20"}],  # the tax tips it over
    [{**_LINE, "unit_price": "600000000000000"}] * 2,  # each fits, the total does not
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    url = (request.getfixturevalue("hub_postgres_url") if request.param == "postgres"
           else f"sqlite:///{(tmp_path / 'hub.sqlite').as_posix()}")
    made = make_engine(url)
    models.metadata.create_all(made)
    yield made
    made.dispose()


@pytest.fixture
def api(engine, tmp_path, hub_clock, make_plugin_host, acme_with_posted_invoice):
    ctx = HubContext(settings=HubSettings(data_dir=tmp_path / "data"), engine=engine,
                     plugins=make_plugin_host(), clock=hub_clock)
    runtime = build_runtime(ctx, broker=StubBroker())
    client = TestClient(create_app(ctx, runtime))
    client.headers["Authorization"] = f"Bearer {create_token(engine, 'ledger')}"
    _, invoice_id = acme_with_posted_invoice(
        engine, number="INV-1", issue_date=dt.date(2025, 12, 1), due_date=dt.date(2025, 12, 15),
        memo="memo", period_start=dt.date(2025, 12, 1), period_end=dt.date(2025, 12, 31))
    yield client, invoice_id
    runtime.close()


def _snapshot(engine, invoice_id):
    with Session(engine) as s:
        invoice = s.get(Invoice, invoice_id).model_dump()
        lines = [(l.description, l.quantity, l.unit_price, l.amount, l.tax_amount)
                 for l in s.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id))]
        entries = [(t.category, t.amount) for t in s.exec(
            select(Transaction).where(Transaction.invoice_id == invoice_id))]
        return invoice, lines, entries


def _refused(client, engine, invoice_id, body) -> str:
    before = _snapshot(engine, invoice_id)
    answer = client.patch(f"/ledger/invoices/{invoice_id}", json=body)
    assert answer.status_code == 422, (body, answer.status_code, answer.text)
    assert answer.json()["error"] == "ValidationFailed"
    assert "\n" not in answer.json()["detail"]
    assert _snapshot(engine, invoice_id) == before
    return answer.json()["detail"]


@pytest.mark.parametrize("body", BAD_BODIES, ids=lambda b: repr(b)[:40])
def test_a_badly_typed_edit_is_a_422_and_changes_nothing(api, engine, body):
    client, invoice_id = api
    _refused(client, engine, invoice_id, body)


@pytest.mark.parametrize("lines", OVERFLOWING_LINES, ids=range(len(OVERFLOWING_LINES)))
def test_items_the_money_columns_cannot_hold_are_refused_with_the_largest_amount(api, engine,
                                                                                lines):
    client, invoice_id = api
    detail = _refused(client, engine, invoice_id, {"lines": lines})
    assert "lines" in detail and "999999999999999.99" in detail


def test_messages_name_the_field_and_the_fix(api, engine):
    client, invoice_id = api
    assert "status: is not a field this takes" in _refused(client, engine, invoice_id,
                                                           {"status": "paid"})
    assert "lines.0.tax_rate: a tax rate of 500 % is outside 0–100" in _refused(
        client, engine, invoice_id, {"lines": [{**_LINE, "tax_rate": "500"}]})
    assert "YYYY-MM-DD" in _refused(client, engine, invoice_id, {"issue_date": 5})
    assert "below zero" in _refused(client, engine, invoice_id,
                                    {"lines": [{**_LINE, "unit_price": "-10"}]})
    assert "before it starts" in _refused(client, engine, invoice_id,
                                          {"period_start": "2026-01-10"})


def test_a_well_typed_edit_is_still_applied(api, engine):
    client, invoice_id = api
    answer = client.patch(f"/ledger/invoices/{invoice_id}", json={
        "note": "n", "number": "INV-1A", "due_date": "2025-12-20",
        "period_end": "2025-12-30", "extra_fields": {"po": "42"},
        "lines": [{"description": "support", "quantity": "2", "unit_price": "40",
                   "tax_rate": "10"}, {"description": "discount", "unit_price": "-5"}]})
    assert answer.status_code == 200, answer.text
    invoice, lines, entries = _snapshot(engine, invoice_id)
    assert (invoice["number"], invoice["note"], invoice["due_date"], invoice["period_end"]) == (
        "INV-1A", "n", dt.date(2025, 12, 20), dt.date(2025, 12, 30))
    assert invoice["extra_fields"] == {"po": "42"}
    assert (invoice["subtotal"], invoice["tax_total"], invoice["total"]) == (
        D("75.00"), D("8.00"), D("83.00"))
    assert [l[0] for l in lines] == ["support", "discount"]
    assert [amount for category, amount in entries] == [D("83.00")]


def test_a_locked_invoice_is_still_a_409(api, engine):
    client, invoice_id = api
    with Session(engine) as s:
        invoice = s.get(Invoice, invoice_id)
        invoice.locked_at = dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
        invoice.locked_by = "xero"
        s.add(invoice)
        s.commit()
    answer = client.patch(f"/ledger/invoices/{invoice_id}", json={"note": "n"})
    assert answer.status_code == 409 and answer.json()["error"] == "DocumentLocked"


@pytest.fixture
def hub(engine, tmp_path, capsys, acme_with_posted_invoice):
    """``hub(*args)`` -> (exit code, stdout, stderr) of the CLI on the test's database."""
    config = tmp_path / "hub.toml"
    config.write_text(f'data_dir = "{(tmp_path / "data").as_posix()}"\n'
                      f'database_url = "{engine.url.render_as_string(hide_password=False)}"\n')
    _, invoice_id = acme_with_posted_invoice(
        engine, number="2026010001", issue_date=dt.date(2026, 3, 1),
        due_date=dt.date(2026, 3, 15))

    def run(*args: str) -> tuple[int, str, str]:
        cli_state.reset()
        code = main(["--config", str(config), *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    yield run, invoice_id
    cli_state.reset()


@pytest.mark.parametrize("args", [
    ["--due-date", "5"], ["--issue-date", "2026-02-30"], ["--number", "N" * 10_000],
    ["--lines", '"abc"'], ["--lines", '[{"description": "x"}]'],
    ["--lines", '[{"description": "x", "unit_price": "1", "tax_rate": "500"}]'],
    ["--lines", '[{"description": "x", "unit_price": "-10"}]'],
    ["--lines", '[{"description": "x", "unit_price": "999999999999999.9999"}]'],
], ids=lambda a: " ".join(a)[:40])
def test_the_cli_edit_refuses_in_one_line_and_stores_nothing(hub, engine, args):
    run, invoice_id = hub
    before = _snapshot(engine, invoice_id)
    code, _, err = run("ledger", "edit", "2026010001", *args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (code, err)
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err
    assert _snapshot(engine, invoice_id) == before
