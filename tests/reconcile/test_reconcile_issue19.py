"""Issue #19 part B, reconciliation through `hub reconcile`: a fully allocated credit note is
not a difference, and a section with nothing to compare with is reported as skipped (with its
reason and its own exit status), never as "No differences"."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlmodel import select

from hub.db.engine import session_scope
from hub.db.models import Allocation, AllocationKind, CreditNote, Invoice
from hub.db.models.ledger import Side, Transaction, TransactionCategory
from hub.cli.commands.reconcile import EXIT_NOT_CHECKED


def _allocate_credit_note(scenario, amount: str) -> None:
    with session_scope(scenario.ctx.engine) as s:
        note = s.exec(select(CreditNote).where(CreditNote.number == "CN-1")).one()
        invoice = s.exec(select(Invoice).where(Invoice.number == "INV-1")).one()
        tx = Transaction(organisation_id=note.organisation_id, currency=note.currency,
                         side=Side.credit, category=TransactionCategory.credit_note,
                         amount=note.total, date=note.date, credit_note_id=note.id)
        s.add(tx)
        s.flush()
        s.add(Allocation(organisation_id=note.organisation_id, kind=AllocationKind.credit_note,
                         source_transaction_id=tx.id, invoice_id=invoice.id,
                         credit_note_id=note.id, amount=Decimal(amount)))


def _credit_note_differences(cli) -> list[dict]:
    result = cli("reconcile", "accounting", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return [d for d in json.loads(result.output)["differences"]
            if d["document"] == "credit note CN-1"]


def _books_status(scenario, status: str) -> None:
    books = scenario.systems.documents["books"]
    scenario.systems.documents["books"] = [
        d.model_copy(update={"status": status}) if d.external_id == "XC-1" else d for d in books]


def test_reconcile_a_fully_allocated_credit_note_is_not_a_difference(scenario, cli):
    _allocate_credit_note(scenario, "20")
    _books_status(scenario, "PAID")  # what Xero says of a fully allocated credit note
    assert _credit_note_differences(cli) == []


def test_reconcile_a_credit_note_paid_at_the_books_but_open_in_the_hub_is_reported(scenario,
                                                                                   cli):
    _allocate_credit_note(scenario, "5")  # part of it only: still open in the hub
    _books_status(scenario, "PAID")
    found = _credit_note_differences(cli)
    assert [d["kind"] for d in found] == ["status_differs"]
    assert found[0]["hub_value"].lower().startswith("open")


@pytest.fixture
def cli_without_processors(scenario, make_hub_context):
    """`hub reconcile` on a hub connected to accounting only (no Stripe, no Pax8)."""
    from typer.testing import CliRunner

    from hub.cli import state
    from hub.cli.main import build_app

    ctx = make_hub_context(scenario.systems,
                           connections=[{"name": "books", "plugin": "fakebooks"}])
    app = build_app(with_plugins=False)
    runner = CliRunner()

    def invoke(*args: str):
        state.reset()
        state.state._context = ctx
        return runner.invoke(app, list(args))

    yield invoke
    state.reset()


def test_reconcile_payments_usage_without_connections_are_skipped_not_clean(
        cli_without_processors):
    result = cli_without_processors("reconcile", "payments", "usage")
    assert result.exit_code == EXIT_NOT_CHECKED, result.output
    assert "No differences: the hub agrees" not in result.output
    assert "NOT checked: payments, usage" in result.output
    assert "no payments connection is configured" in result.output
    assert "no usage connection is configured" in result.output

    as_json = cli_without_processors("reconcile", "payments", "usage", "--format", "json")
    assert as_json.exit_code == EXIT_NOT_CHECKED
    skipped = json.loads(as_json.output)["skipped"]
    assert set(skipped) == {"payments", "usage"}
    assert "Stripe" in skipped["payments"] and "Pax8" in skipped["usage"]


def test_reconcile_a_connection_of_the_wrong_kind_skips_the_section(scenario, cli):
    result = cli("reconcile", "payments", "--connection", "books", "--format", "json")
    assert result.exit_code == EXIT_NOT_CHECKED, result.output
    assert "'books' is not a payments connection" in json.loads(result.output)["skipped"][
        "payments"]
