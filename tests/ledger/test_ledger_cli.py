"""Editing or deleting a locked document through the CLI is refused with the message, and the
stored document is unchanged (read back from the database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

import hub.db.models as models
from hub.host.context import HubContext
from hub.cli import state as cli_state
from hub.config import load_settings
from hub.host.plugins import build_plugin_host
from hub.cli.main import build_app
from hub.db.engine import make_engine
from hub.db.models import Invoice, InvoiceLine, InvoiceStatus, Payment, Transaction
from hub.errors import DocumentLocked, EditNotAllowed


@pytest.fixture
def hub_env(tmp_path, monkeypatch, acme_with_posted_invoice):
    db = tmp_path / "t.sqlite"
    engine = make_engine("sqlite:///" + str(db))
    models.metadata.create_all(engine)
    config = tmp_path / "hub.toml"
    config.write_text(f'data_dir = "{tmp_path.as_posix()}"\n'
                      f'database_url = "sqlite:///{db.as_posix()}"\n')
    cli_state.reset()
    org_id, invoice_id = acme_with_posted_invoice(
        engine, number="2026010001", issue_date=dt.date(2026, 3, 1),
        due_date=dt.date(2026, 3, 15), memo="original memo", note="original note")
    yield engine, config, org_id, invoice_id
    cli_state.reset()
    engine.dispose()


def _run(config, *args):
    """Invoke the CLI with a context whose plugin host has no entry points, so the test does
    not depend on other plugins being importable."""
    cli_state.reset()
    settings = load_settings(config)
    cli_state.state._settings = settings
    cli_state.state._context = HubContext.from_settings(
        settings, plugins=build_plugin_host(load_entry_points=False))
    return CliRunner().invoke(build_app(with_plugins=False), ["--config", str(config), *args])


def _lock(engine, invoice_id):
    with Session(engine) as s:
        inv = s.get(Invoice, invoice_id)
        inv.locked_at, inv.locked_by = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc), "xero"
        s.add(inv)
        s.commit()


def _snapshot(engine, invoice_id):
    with Session(engine) as s:
        inv = s.get(Invoice, invoice_id)
        lines = [(l.description, l.amount) for l in s.exec(
            select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id))]
        txs = [(t.category, t.amount) for t in s.exec(
            select(Transaction).where(Transaction.invoice_id == invoice_id))]
        return (inv.model_dump(), lines, txs)


@pytest.mark.parametrize("args", [
    ["ledger", "edit", "2026010001", "--memo", "changed"],
    ["ledger", "edit", "2026010001", "--due-date", "2026-04-01"],
    ["ledger", "delete", "2026010001"],
    ["ledger", "delete", "2026010001", "--completely"],
])
def test_cli_refuses_to_edit_or_delete_a_locked_invoice(hub_env, args):
    engine, config, _, invoice_id = hub_env
    _lock(engine, invoice_id)
    before = _snapshot(engine, invoice_id)
    result = _run(config, *args)
    assert result.exit_code != 0
    assert isinstance(result.exception, DocumentLocked)
    message = result.exception.user_message()
    assert "synced to accounting (xero)" in message and "credit note" in message
    assert _snapshot(engine, invoice_id) == before


def test_cli_locked_invoice_can_still_be_credited(hub_env):
    engine, config, _, invoice_id = hub_env
    _lock(engine, invoice_id)
    result = _run(config, "credit-note", "create", "--invoice", "2026010001", "--whole")
    assert result.exit_code == 0, result.output
    with Session(engine) as s:
        inv = s.get(Invoice, invoice_id)
        assert inv.credit_applied == D("100") and inv.status == InvoiceStatus.paid


def test_cli_paid_invoice_edit_rules(hub_env):
    engine, config, org_id, invoice_id = hub_env
    assert _run(config, "ledger", "mark-paid", "2026010001", "--method", "cash").exit_code == 0
    assert _run(config, "ledger", "edit", "2026010001", "--memo", "thanks").exit_code == 0
    before = _snapshot(engine, invoice_id)
    result = _run(config, "ledger", "edit", "2026010001", "--due-date", "2026-05-01")
    assert isinstance(result.exception, EditNotAllowed)
    assert "invoice 2026010001 is paid: due_date cannot be changed" in str(result.exception)
    assert _snapshot(engine, invoice_id) == before
    with Session(engine) as s:
        assert s.get(Invoice, invoice_id).memo == "thanks"
        assert s.exec(select(Payment)).one().method == "cash"


def test_cli_payment_statement_and_account(hub_env):
    engine, config, org_id, invoice_id = hub_env
    r = _run(config, "payment", "add", str(org_id), "150", "--method", "bank_transfer",
             "--date", "2026-03-05")
    assert r.exit_code == 0, r.output
    r = _run(config, "statement", str(org_id), "--start", "2026-03-01", "--end", "2026-03-31")
    assert "Total invoiced: 100.00 USD (1)  paid: 100.00 USD (1)  unpaid: 0.00 USD (0)" in r.output
    r = _run(config, "account", "show", str(org_id))
    assert r.exit_code == 0 and '"balance": "50' in r.output
    r = _run(config, "payment", "list", "--format", "csv")
    assert r.exit_code == 0 and "2026010001:100.00" in r.output
    r = _run(config, "payment", "list", "--format", "json", "--limit", "0")
    assert r.exit_code == 2  # refused at the door: a page holds 1 to 10,000 rows
    r = _run(config, "invoice", "show", str(invoice_id))
    assert r.exit_code == 0, r.output
    assert "applied (of 150.00)" in r.output and "paid 100.00 USD" in r.output \
        and "due 0.00 USD" in r.output


def test_cli_prebill_account_config_and_credit_note_flow(hub_env):
    engine, config, org_id, invoice_id = hub_env
    r = _run(config, "account", "config", str(org_id), "minimum_balance=-50",
             "block_on_weekends=true", 'holidays=["2026-03-16"]')
    assert r.exit_code == 0, r.output
    r = _run(config, "account", "config", str(org_id), "blocking_days=soon")
    assert "blocking_days: Input should be a valid integer" in str(r.exception)
    r = _run(config, "prebill", "create", str(org_id), "--project", "Web", "--stage", "Build",
             "--fee", "2500", "--percent", "40", "--date", "2026-08-25")
    assert r.exit_code == 0 and "1,000.00 USD" in r.output, r.output
    for day, value in [("2026-09-01", "200"), ("2026-09-06", "300"), ("2026-09-11", "600"),
                       ("2026-09-16", "100"), ("2026-09-21", "200")]:
        assert _run(config, "prebill", "wip", str(org_id), "--project", "Web", "--stage",
                    "Build", "--value", value, "--date", day).exit_code == 0
    r = _run(config, "prebill", "options", "1", "--method", "closest")
    assert '"wip_total": "1100.00"' in r.output and '"wip_total": "500.00"' in r.output
    r = _run(config, "prebill", "attach", "1", "--method", "closest", "--use", "markdown")
    assert "attached 3 WIP; balance 0.00 USD (closed)" in r.output, r.output
    r = _run(config, "prebill", "list", "--format", "csv")
    assert r.exit_code == 0 and f"1,{org_id},Web,Build,1000.00,USD,0.00" in r.output, r.output
    r = _run(config, "prebill", "list", "--format", "json", "--organisation", str(org_id))
    assert r.exit_code == 0 and '"balance": "0.00"' in r.output, r.output
    r = _run(config, "credit-note", "create", "--organisation", str(org_id), "--line",
             "goodwill=15")
    assert r.exit_code == 0 and "15.00 USD" in r.output, r.output
    r = _run(config, "ledger", "pay-from-balance", "2026010001")
    assert "due 85" in r.output, r.output
    r = _run(config, "ledger", "links", "2026010001")
    assert '"credit_notes"' in r.output
