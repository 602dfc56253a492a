"""The CLI writes every amount in its currency's minor unit: a yen invoice is ``1,500``, not
``1,500.00``; a dinar one has three decimals; a unit price finer than the minor unit (a USD
price per minute of 0.0125) keeps its decimals instead of being rounded to 0.01. Invoice
tables, batches, contract invoices and the messages of ``invoice add-line|finalise``."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from hub.cli import state as cli_state
from hub.cli.main import build_app


@pytest.fixture
def hub(ctx):
    app = build_app(with_plugins=False)
    runner = CliRunner()
    width = cli_state.console.width
    cli_state.console.width = 220  # one table row per line

    def invoke(*args: str) -> str:
        cli_state.state._context = ctx  # the command's context() returns the test's
        result = runner.invoke(app, list(args), catch_exceptions=True)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == 0, result.output
        return result.output

    yield invoke
    cli_state.console.width = width
    cli_state.reset()


def _row(out: str, label: str) -> list[str]:
    """The cells of the table row that starts with ``label``."""
    line = next(line for line in out.splitlines() if re.match(rf"│ {label} ", line))
    return [cell.strip() for cell in line.strip("│").split("│")]


def test_a_yen_invoice_shows_whole_yen(hub):
    hub("org", "create", "Tokyo KK", "--currency", "JPY")
    hub("invoice", "create", "1", "--date", "2026-03-15")
    assert "Support 1,500 JPY" in hub("invoice", "add-line", "1", "--description", "Support",
                                      "--price", "500", "--qty", "3", "--tax", "10")
    hub("invoice", "add-line", "1", "--description", "Minutes", "--price", "0.5", "--qty", "10")
    assert "finalised: 1,655 JPY" in hub("invoice", "finalise", "1")
    out = hub("invoice", "show", "1")
    assert _row(out, "Support")[1:5] == ["3", "500", "1,500", "150"]
    assert _row(out, "Minutes")[1:5] == ["10", "0.5", "5", "0"]  # a fraction of a yen stays
    assert _row(out, "Total")[3:6] == ["1,655", "150", "JPY"]
    assert "due 1,655 JPY" in out and ".00" not in out


def test_dinars_have_three_decimals_and_a_fine_unit_price_is_not_rounded(hub):
    hub("org", "create", "Kuwait Co", "--currency", "KWD")
    hub("invoice", "create", "1", "--date", "2026-03-15")
    hub("invoice", "add-line", "1", "--description", "Support", "--price", "12.125", "--qty",
        "2")
    hub("org", "create", "Acme", "--currency", "USD")
    hub("invoice", "create", "2", "--date", "2026-03-15")
    hub("invoice", "add-line", "2", "--description", "Minutes", "--price", "0.0125", "--qty",
        "1000")
    dinars = hub("invoice", "show", "1")
    assert _row(dinars, "Support")[2:5] == ["12.125", "24.250", "0.000"]
    dollars = hub("invoice", "show", "2")
    assert _row(dollars, "Minutes")[2:4] == ["0.0125", "12.50"]
    assert _row(dollars, "Total")[3:6] == ["12.50", "0.00", "USD"]
