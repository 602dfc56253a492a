"""Issue #19 part A ("Money and the ledger") through the CLI and the REST API: each refusal
exits non-zero (422 in the API), says what to do, and stores nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

import hub.db.models as models
from hub.cli import state as cli_state
from hub.cli.main import build_app
from hub.core.money import minor_unit
from hub.config import load_settings
from hub.db.engine import make_engine
from hub.db.models import (
    FutureItem, Invoice, InvoiceLine, Organisation, Payment, Transaction, WipEntry,
)
from hub.host.context import HubContext
from hub.host.plugins import build_plugin_host
from hub.jobs import build_runtime
from hub.ledger import post_invoice
from hub.web.app import create_app
from hub.web.tokens import create_token


def _org_with_invoice(engine, *, currency="USD", total="45.00", number="INV-1",
                      issue=dt.date(2026, 3, 1)) -> tuple[int, int]:
    with Session(engine, expire_on_commit=False) as s:
        org = Organisation(name=f"Acme {currency}", currency=currency)
        s.add(org)
        s.flush()
        inv_id = _invoice(s, org.id, total, number, issue, currency)
        s.commit()
        return org.id, inv_id


def _invoice(s, org_id, total, number, issue, currency="USD") -> int:
    inv = Invoice(organisation_id=org_id, number=number, currency=currency, issue_date=issue,
                  due_date=issue + dt.timedelta(days=14), subtotal=D(total), total=D(total))
    s.add(inv)
    s.flush()
    s.add(InvoiceLine(invoice_id=inv.id, description="support", unit_price=D(total),
                      amount=D(total)))
    post_invoice(s, inv, today=issue)
    return inv.id


@pytest.fixture
def cli(tmp_path):
    db = tmp_path / "t.sqlite"
    engine = make_engine("sqlite:///" + str(db))
    models.metadata.create_all(engine)
    config = tmp_path / "hub.toml"
    config.write_text(f'data_dir = "{tmp_path.as_posix()}"\n'
                      f'database_url = "sqlite:///{db.as_posix()}"\n')

    def run(*args):
        cli_state.reset()
        settings = load_settings(config)
        cli_state.state._settings = settings
        cli_state.state._context = HubContext.from_settings(
            settings, plugins=build_plugin_host(load_entry_points=False))
        return CliRunner().invoke(build_app(with_plugins=False),
                                  ["--config", str(config), *args])

    yield engine, run
    cli_state.reset()
    engine.dispose()


@pytest.fixture
def api(make_hub_context):
    ctx = make_hub_context()
    runtime = build_runtime(ctx, broker=StubBroker())
    client = TestClient(create_app(ctx, runtime))
    client.headers["Authorization"] = f"Bearer {create_token(ctx.engine, 'ledger')}"
    yield ctx, client
    runtime.close()


def _rows(engine, model):
    with Session(engine) as s:
        return s.exec(select(model)).all()


def _output(result) -> str:
    text = result.output
    if result.exception is not None and hasattr(result.exception, "user_message"):
        text += result.exception.user_message()
    return text


# ------------------------------------------------------------------------ minor units
@pytest.mark.parametrize("currency, amount", [("USD", "10.005"), ("JPY", "0.5"),
                                              ("EUR", "1.001")])
def test_cli_payment_finer_than_the_minor_unit_is_refused(cli, currency, amount):
    engine, run = cli
    org_id, _ = _org_with_invoice(engine, currency=currency, total="45")
    result = run("payment", "add", str(org_id), amount)
    assert result.exit_code != 0
    assert f"finer than {currency} allows" in _output(result)
    assert _rows(engine, Payment) == []


def test_api_payment_finer_than_the_minor_unit_is_422_and_stores_nothing(api):
    ctx, client = api
    org_id, invoice_id = _org_with_invoice(ctx.engine, currency="JPY", total="500")
    answer = client.post("/payments", json={"organisation_id": org_id, "amount": "0.5"})
    assert answer.status_code == 422, answer.text
    assert "JPY" in answer.text and "finer" in answer.text
    answer = client.post("/payments", json={"organisation_id": org_id, "amount": "500",
                                            "invoice_id": invoice_id})
    assert answer.status_code == 201, answer.text
    assert [p.amount for p in _rows(ctx.engine, Payment)] == [D("500")]


def _places(text: str) -> int:
    return len(text.partition(".")[2])


#: The money amounts of the answers below, by where they are; every one must be written in the
#: currency's minor unit, whether the row was just written (POST) or read back (GET).
_AMOUNTS = [
    ("GET /invoices", lambda a: [a["total"], a["subtotal"], a["tax_total"]]),
    ("GET /invoices/{id}", lambda a: [a["total"], a["lines"][0]["amount"],
                                      a["lines"][0]["tax_amount"]]),
    ("GET /ledger/invoices/{id}", lambda a: [a["total"], a["amount_paid"], a["amount_due"],
                                             a["credit_applied"],
                                             a["links"]["payments"][0]["amount"],
                                             a["links"]["payments"][0]["applied"]]),
    ("GET /payments", lambda a: [a["amount"], a["links"]["invoices"][0]["applied"]]),
    ("GET /organisations/{org}/statement",
     lambda a: [a["documents"][0]["amount"]["amount"], a["totals"]["paid"]["amount"],
                a["totals"]["unpaid"]["amount"]]),
    ("GET /organisations/{org}/account",
     lambda a: [a["balance"], a["credit"], a["invoices_due"], a["open_debits"]]),
    ("GET /organisations/{org}/account/config", lambda a: [a["minimum_balance"]]),
    ("GET /credit-notes", lambda a: [a["total"], a["unapplied"], a["lines"][0]["amount"]]),
]


@pytest.mark.parametrize("currency, total, paid, shown", [
    ("USD", "45", "30", "45.00"), ("JPY", "500", "300", "500"), ("KWD", "45", "30", "45.000"),
])
def test_api_answers_write_amounts_in_the_currencys_minor_unit(api, currency, total, paid, shown):
    # The columns keep 4 places: a row read back held "45.0000" in GET answers while the POST
    # answer of the same amount said "45.00". Unit prices and quantities keep their places.
    ctx, client = api
    org_id, invoice_id = _org_with_invoice(ctx.engine, currency=currency, total=total)
    pay = client.post("/payments", json={"organisation_id": org_id, "amount": paid,
                                         "invoice_id": invoice_id})
    assert pay.status_code == 201, pay.text
    note = client.post("/credit-notes", json={"organisation_id": org_id, "lines": [
        {"description": "goodwill", "unit_price": "1"}]})
    assert note.status_code == 201, note.text
    places = minor_unit(currency)
    answers = {
        "POST /payments": pay.json(),
        "GET /invoices": client.get("/invoices", params={"organisation_id": org_id}).json()[0],
        "GET /invoices/{id}": client.get(f"/invoices/{invoice_id}").json(),
        "GET /ledger/invoices/{id}": client.get(f"/ledger/invoices/{invoice_id}").json(),
        "GET /payments": client.get("/payments").json()[0],
        "GET /organisations/{org}/statement": client.get(
            f"/organisations/{org_id}/statement",
            params={"start": "2026-03-01", "end": "2026-03-31"}).json(),
        "GET /organisations/{org}/account": client.get(
            f"/organisations/{org_id}/account").json(),
        "GET /organisations/{org}/account/config": client.get(
            f"/organisations/{org_id}/account/config").json(),
        "GET /credit-notes": client.get("/credit-notes").json()[0],
    }
    assert answers["GET /invoices"]["total"] == shown
    assert answers["POST /payments"]["amount"] == answers["GET /payments"]["amount"]
    for where, amounts in _AMOUNTS:
        for amount in amounts(answers[where]):
            assert _places(amount) == places, (where, amount)
    line = answers["GET /invoices/{id}"]["lines"][0]
    assert (line["unit_price"], line["quantity"]) == (f"{total}.0000", "1.0000")


def test_cli_transactions_refunds_wip_and_future_items_refuse_finer_amounts(cli):
    engine, run = cli
    org_id, invoice_id = _org_with_invoice(engine)
    assert run("payment", "add", str(org_id), "45.00").exit_code == 0
    [payment] = _rows(engine, Payment)
    refusals = [
        ("account", "transaction", str(org_id), "--side", "debit", "--amount", "1.005"),
        ("payment", "refund", str(payment.id), "--amount", "0.001"),
        ("org", "future-item", str(org_id), "router", "9.999"),
        ("prebill", "wip", str(org_id), "--project", "p", "--stage", "s", "--value", "1.001"),
    ]
    for args in refusals:
        result = run(*args)
        assert result.exit_code != 0, (args, result.output)
        assert "finer than USD allows" in _output(result), (args, _output(result))
    assert [t.category for t in _rows(engine, Transaction)] == ["auto", "payment"]
    assert _rows(engine, FutureItem) == [] and _rows(engine, WipEntry) == []
    assert len(_rows(engine, Payment)) == 1


def test_minor_units_agree_with_babel_which_prints_the_pdfs():
    from babel.numbers import get_currency_precision

    import hub

    for code in ("USD", "EUR", "JPY", "KWD", "BHD", "IQD", "RSD", "ISK", "CLP", "MGA"):
        assert hub.minor_unit(code) == get_currency_precision(code), code
    assert (hub.minor_unit("IQD"), hub.minor_unit("RSD")) == (0, 0)


# ------------------------------------------------------------------------ deletion rule
@pytest.mark.parametrize("completely", [False, True])
def test_cli_deleting_a_paid_invoice_is_refused_by_both_deletions(cli, completely):
    engine, run = cli
    org_id, invoice_id = _org_with_invoice(engine)
    assert run("ledger", "mark-paid", "INV-1").exit_code == 0
    result = run("ledger", "delete", "INV-1", *(["--completely"] if completely else []))
    assert result.exit_code != 0
    assert "credit note" in _output(result)
    with Session(engine) as s:
        assert s.get(Invoice, invoice_id).status == "paid"


# ------------------------------------------------------------------------ payments/refunds
def test_cli_refund_dated_before_the_payment_is_refused(cli):
    engine, run = cli
    org_id, _ = _org_with_invoice(engine)
    assert run("payment", "add", str(org_id), "45.00", "--date", "2026-03-10").exit_code == 0
    [payment] = _rows(engine, Payment)
    result = run("payment", "refund", str(payment.id), "--date", "2026-03-09")
    assert result.exit_code != 0 and "before the payment" in _output(result)
    assert len(_rows(engine, Payment)) == 1
    assert run("payment", "refund", str(payment.id), "--date", "2026-03-10").exit_code == 0


def test_cli_invoice_with_allocate_is_refused(cli):
    engine, run = cli
    org_id, _ = _org_with_invoice(engine)
    result = run("payment", "add", str(org_id), "45.00", "--invoice", "INV-1",
                 "--allocate", "INV-1=45.00")
    assert result.exit_code != 0 and "not both" in _output(result)
    assert _rows(engine, Payment) == []


def test_api_payment_in_another_currency_says_payments_are_in_the_organisations(api):
    ctx, client = api
    org_id, _ = _org_with_invoice(ctx.engine)
    answer = client.post("/payments", json={"organisation_id": org_id, "amount": "10.00",
                                            "currency": "EUR"})
    assert answer.status_code == 422, answer.text
    assert "organisation's currency (USD)" in answer.text
    assert _rows(ctx.engine, Payment) == []


def test_cli_payments_go_to_invoices_in_the_order_of_creation(cli):
    engine, run = cli
    org_id, first = _org_with_invoice(engine, total="30.00", issue=dt.date(2026, 3, 2))
    with Session(engine) as s:  # created second, but dated earlier
        second = _invoice(s, org_id, "40.00", "INV-2", dt.date(2026, 2, 1))
        s.commit()
    assert "order they were created" in " ".join(run("payment", "add", "--help").output.split())
    assert run("payment", "add", str(org_id), "50.00").exit_code == 0
    with Session(engine) as s:
        assert s.get(Invoice, first).status == "paid"
        assert s.get(Invoice, second).amount_due == D("20.00")


# ------------------------------------------------------------------------ statements
def test_cli_statement_has_links_and_paid_by_method_with_the_pdf_period_options(cli):
    engine, run = cli
    org_id, _ = _org_with_invoice(engine)
    assert run("payment", "add", str(org_id), "30.00", "--invoice", "INV-1", "--method", "cash",
               "--date", "2026-03-05").exit_code == 0
    assert run("payment", "add", str(org_id), "15.00", "--invoice", "INV-1", "--method",
               "bank_transfer", "--date", "2026-03-06").exit_code == 0
    for options in (("--start", "2026-03-01", "--end", "2026-03-31"),
                    ("--from", "2026-03-01", "--to", "2026-03-31")):
        result = run("statement", str(org_id), *options)
        assert result.exit_code == 0, result.output
        text = " ".join(result.output.split())
        assert "invoice INV-1" in text and "payment 1, payment 2" in text
        assert "Total paid by method: bank_transfer: 15.00 USD cash: 30.00 USD" in text
    pdf = engine.url.database.replace("t.sqlite", "s.pdf")
    result = run("pdf", "statement", str(org_id), "--start", "2026-03-01", "--end",
                 "2026-03-31", "-o", pdf)
    assert result.exit_code == 0, result.output


def test_api_statement_rows_carry_links_and_the_total_paid_table(api):
    ctx, client = api
    org_id, invoice_id = _org_with_invoice(ctx.engine)
    assert client.post("/payments", json={"organisation_id": org_id, "amount": "45.00",
                                          "method": "card", "date": "2026-03-05"}
                       ).status_code == 201
    body = client.get(f"/organisations/{org_id}/statement",
                      params={"start": "2026-03-01", "end": "2026-03-31"}).json()
    rows = {row["kind"]: row for row in body["documents"]}
    assert rows["invoice"]["links"] == ["payment 1"]
    assert rows["payment"]["links"] == ["invoice INV-1"]
    assert body["paid_by_method"] == {"card": {"amount": "45.00", "currency": "USD"}}


# ------------------------------------------------------------------------ credit notes
def test_cli_credit_notes_list_show_and_apply_by_number(cli):
    engine, run = cli
    org_id, _ = _org_with_invoice(engine)
    with Session(engine) as s:
        _invoice(s, org_id, "20.00", "INV-2", dt.date(2026, 3, 2))
        s.commit()
    result = run("credit-note", "create", "--organisation", str(org_id), "--line", "goodwill=10")
    assert result.exit_code == 0, result.output
    number = result.output.split()[2].rstrip(":")
    listed = run("credit-note", "list", "--format", "csv")
    assert listed.exit_code == 0 and number in listed.output
    assert run("credit-note", "apply", number, "INV-2").exit_code == 0
    shown = run("credit-note", "show", number)
    assert shown.exit_code == 0, shown.output
    import json

    view = json.loads(shown.output)
    assert view["number"] == number and D(view["unapplied"]) == 0
    assert [i["number"] for i in view["links"]["invoices"]] == ["INV-2"]
    # and the other way: the invoice names the credit note
    links = json.loads(run("ledger", "links", "INV-2").output)
    assert [n["number"] for n in links["credit_notes"]] == [number]
    assert run("credit-note", "show", "NOPE").exit_code != 0


def test_api_credit_note_by_number_with_links_both_ways(api):
    ctx, client = api
    org_id, invoice_id = _org_with_invoice(ctx.engine)
    made = client.post("/credit-notes", json={"invoice_id": invoice_id, "whole": True})
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    shown = client.get(f"/credit-notes/{number}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["links"]["against_invoice_number"] == "INV-1"
    assert [n["number"] for n in client.get(
        f"/ledger/invoices/{invoice_id}").json()["links"]["credit_notes"]] == [number]
    assert [n["number"] for n in client.get("/credit-notes").json()] == [number]
    assert client.get("/credit-notes/NOPE").status_code == 404


# ------------------------------------------------------------------------ overdue
def test_overdue_is_current_and_account_show_agrees_with_the_invoice_list(cli):
    import json

    from hub.jobs.scheduler import DAILY_JOBS

    assert "check_overdue" in DAILY_JOBS  # the scheduler runs it every day
    engine, run = cli
    org_id, invoice_id = _org_with_invoice(engine, issue=dt.date(2026, 1, 1))  # due Jan 15
    with Session(engine) as s:
        assert s.get(Invoice, invoice_id).status == "unpaid"  # nobody ran `ledger overdue`
    listed = run("invoice", "list")
    assert listed.exit_code == 0, listed.output
    assert "overdue" in listed.output
    shown = json.loads(run("account", "show", str(org_id)).output)
    assert [(i["number"], i["status"]) for i in shown["open_invoices"]] == [("INV-1", "overdue")]


def test_api_invoice_list_and_account_agree_on_overdue(api):
    ctx, client = api
    org_id, invoice_id = _org_with_invoice(ctx.engine, issue=dt.date(2025, 12, 1))
    ctx.clock.set("2026-01-01T09:00:00+00:00")
    account = client.get(f"/organisations/{org_id}/account").json()
    listed = client.get("/invoices", params={"organisation_id": org_id}).json()
    assert [i["status"] for i in listed] == ["overdue"]
    assert [i["status"] for i in account["open_invoices"]] == ["overdue"]


# ------------------------------------------------------------------------ processor events
@pytest.mark.parametrize("amount, why", [("0", "not a storable"), ("1" + "0" * 16, "not a storable"),
                                         ("USD:1.5", "JPY")])
def test_events_that_can_never_succeed_fail_at_once(cli, amount, why):
    from hub.contract.records import PaymentEvent, PaymentEventKind
    from hub.core.money import Money
    from hub.jobs.retries import classify
    from hub.ledger import apply_payment_event
    from hub.ledger.events import EventCannotSucceed

    engine, _ = cli
    org_id, invoice_id = _org_with_invoice(engine, currency="JPY", total="500")
    currency, value = amount.split(":") if ":" in amount else ("JPY", amount)
    event = PaymentEvent(event_id="evt_1", kind=PaymentEventKind.payment_succeeded,
                         object_id="pi_1", occurred_at=dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc),
                         invoice_id=invoice_id, amount=Money(value, currency))
    with Session(engine) as s, pytest.raises(EventCannotSucceed) as err:
        apply_payment_event(s, "stripe", event)
    assert why in str(err.value)
    assert classify(err.value).permanent  # the job runner stops instead of retrying
    assert _rows(engine, Payment) == []
