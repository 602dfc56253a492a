"""`hub bill preview|show|confirm`, `hub invoice ...` and `hub contract invoice` end to end through
the Typer app, on the test context; refusals come out as one line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hub.cli import state as cli_state
from hub.cli.main import build_app


@pytest.fixture
def hub(ctx):
    app = build_app(with_plugins=False)
    runner = CliRunner()
    width = cli_state.console.width
    cli_state.console.width = 220  # one table row per line, so causes are not wrapped

    def invoke(*args: str) -> str:
        cli_state.state._context = ctx  # the command's context() returns the test's
        result = runner.invoke(app, list(args), catch_exceptions=True)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.output

    yield invoke
    cli_state.console.width = width
    cli_state.reset()


def test_cli_preview_shows_changes_with_causes_and_confirm_finalises_them(hub, counters):
    assert "Organisation 1 created" in hub("org", "create", "Acme Ltd")
    hub("recurring", "create", "1", "--start", "2026-03-01")
    hub("recurring", "add-line", "1", "--type", "asset_counter", "--description",
        "Managed workstation", "--price", "30")
    counters.devices[1] = [{"ref": "d1", "label": "PC-01"}]
    out = hub("bill", "preview", "--date", "2026-03-01")
    assert "DRAFT #1" in out and "first invoice" in out and "30.00" in out
    hub("bill", "confirm", "1")
    counters.devices[1] += [{"ref": f"d{n}", "label": f"PC-0{n}"} for n in (2, 3, 4)]
    out = hub("bill", "preview", "--date", "2026-04-01")
    assert "+3 devices: PC-02, PC-03, PC-04" in out and "120.00" in out
    shown = hub("bill", "show", "2")
    assert "+3 devices: PC-02, PC-03, PC-04" in shown
    assert "1 invoice(s) finalised" in hub("bill", "confirm", "2")
    listing = hub("invoice", "list")
    assert "202601000001" in listing and "202601000002" in listing


def test_cli_one_time_invoice_and_contract_invoice(hub):
    hub("org", "create", "Initech")
    hub("invoice", "create", "1", "--date", "2026-03-15")
    hub("invoice", "add-line", "1", "--description", "Cable", "--price", "12.50", "--qty", "2")
    assert "Invoice 202601000001 finalised: 25.00 USD" in hub("invoice", "finalise", "1")
    hub("contract", "create", "1", "Support", "--start", "2026-01-01", "--cycles", "2")
    hub("contract", "add-line", "1", "--description", "Support plan", "--price", "100")
    assert "preselected" in hub("contract", "cycles", "1")
    out = hub("contract", "invoice", "1")
    assert "cycle 1 (2026-01-01 – 2026-01-31) invoiced as 202601000002: 100.00" in out
