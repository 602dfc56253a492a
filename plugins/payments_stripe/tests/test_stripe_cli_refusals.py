"""``hub stripe card`` on a connection of another type, and ``hub stripe sandbox`` on a port no
socket can have: one ``error:`` line each, not an AttributeError or OverflowError traceback."""

import typer
from typer.testing import CliRunner

import hub
from hub.contract.connections import Connection
from hub_payments_stripe import plugin


def _app(connection, monkeypatch):
    monkeypatch.setattr(hub, "cli_connection", lambda name: connection)
    app = typer.Typer()
    plugin.hub_register_commands(app=app)
    return app


def test_card_on_a_connection_of_another_type_is_refused(kit, monkeypatch):
    # the xero connection's settings have no api_base: the Stripe client must not be reached
    xero = Connection(name="xero", plugin="xero", settings=kit.connection.settings.__class__
                      .model_construct())
    result = CliRunner().invoke(_app(xero, monkeypatch), [
        "stripe", "card", "xero", "--organisation", "1", "--name", "x"])
    assert result.exit_code == 1, result.output  # as the command's other refusals
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == ["error: connection 'xero' is a xero connection, not stripe — name a stripe "
                     "connection (`hub plugins` lists them)"]
    assert not kit.sandbox.store.get("customer")


def test_sandbox_port_out_of_range_is_a_usage_error(capsys):
    from hub.cli.main import main

    for port in ("99999", "-1", "0"):
        assert main(["stripe", "sandbox", "--port", port]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: Invalid value for '--port'") and len(err.splitlines()) == 1
