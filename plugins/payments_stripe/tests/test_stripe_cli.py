"""``hub stripe card``: customer once, a card attached by id, or a Setup Intent started."""

import typer
from typer.testing import CliRunner

import hub
from hub_payments_stripe import plugin


def _app(kit, monkeypatch):
    monkeypatch.setattr(hub, "cli_connection", lambda name: kit.connection)
    app = typer.Typer()
    plugin.hub_register_commands(app=app)
    return app


def test_card_attaches_by_id(kit, monkeypatch):
    result = CliRunner().invoke(_app(kit, monkeypatch), [
        "stripe", "card", "stripe", "--organisation", "7", "--name", "Acme",
        "--payment-method", "pm_card_visa"])
    assert result.exit_code == 0, result.output
    assert "visa ending 4242" in result.output
    [customer] = kit.sandbox.store["customer"].values()
    assert customer["metadata"] == {"hub_organisation_id": "7"}


def test_card_without_payment_method_starts_a_setup_intent(kit, monkeypatch):
    result = CliRunner().invoke(_app(kit, monkeypatch), [
        "stripe", "card", "stripe", "--organisation", "7", "--name", "Acme"])
    assert result.exit_code == 0 and "Setup Intent seti_" in result.output


def test_card_errors_are_one_line(kit, monkeypatch):
    result = CliRunner().invoke(_app(kit, monkeypatch), [
        "stripe", "card", "stripe", "--organisation", "7", "--name", "Acme",
        "--payment-method", "pm_nope"])
    assert result.exit_code == 1 and "No such PaymentMethod" in result.output
