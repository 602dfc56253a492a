"""Issue #19 part B, billing: change causes that say what changed, provenance on demand, asset
counters that skip retired devices, contract previews with their components, `contract
invoice-many` reporting every contract's outcome, and contracts anchored on the 31st.

Everything goes through the CLI (Typer app) or the REST API, as a user would."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from hub.cli import state as cli_state
from hub.cli.main import build_app
from hub.db.engine import session_scope
from hub.db.models import BillingCycle, Invoice, RecurringLine
from hub.errors import EditNotAllowed
from hub.host.plugins import DEFAULT_PLUGINS

from .conftest import make_context


class Hub:
    """``hub(...)`` runs a command on the test context and returns its output; ``hub.code`` is
    the last exit status."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.app = build_app(with_plugins=False)
        self.runner = CliRunner()
        self.code = None

    def __call__(self, *args: str) -> str:
        cli_state.state._context = self.ctx
        result = self.runner.invoke(self.app, list(args), catch_exceptions=True)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        self.code = result.exit_code
        return result.output


@pytest.fixture
def hub(ctx):
    width = cli_state.console.width
    cli_state.console.width = 250  # one table row per line, so causes are not wrapped
    yield Hub(ctx)
    cli_state.console.width = width
    cli_state.reset()


def _line_row(output: str, description: str) -> str:
    rows = [row for row in output.splitlines() if description in row]
    assert rows, output
    return rows[0]


def _exact_row(output: str, description: str) -> str:
    """The table row whose first cell is exactly ``description``."""
    rows = [row for row in output.splitlines()
            if row.startswith("│") and row.split("│")[1].strip() == description]
    assert rows, output
    return rows[0]


# ------------------------------------------------------------------------------ change causes
def test_subscription_going_from_15_to_0_reads_minus_15_licences(hub, counters):
    hub("org", "create", "Acme")
    hub("recurring", "create", "1", "--start", "2026-03-01")
    hub("recurring", "add-line", "1", "--type", "vendor_usage", "--description", "M365 seats",
        "--price", "12")
    counters.usage[1] = [{"ref": "usage:pax8:sub-9", "label": "M365 Business Premium",
                          "quantity": "15"}]
    hub("bill", "preview", "--date", "2026-03-01")
    hub("bill", "confirm", "1")
    counters.usage[1] = []
    row = _line_row(hub("bill", "preview", "--date", "2026-04-01"), "M365 seats")
    assert "-15 licences: M365 Business Premium (15 → 0)" in row
    assert "-1 licence" not in row


def test_seats_added_to_a_subscription_say_by_how_much(hub, counters):
    hub("org", "create", "Acme")
    hub("recurring", "create", "1", "--start", "2026-03-01")
    hub("recurring", "add-line", "1", "--type", "vendor_usage", "--description", "M365 seats",
        "--price", "12")
    counters.usage[1] = [{"ref": "usage:pax8:sub-9", "label": "M365", "quantity": "15"}]
    hub("bill", "preview", "--date", "2026-03-01")
    hub("bill", "confirm", "1")
    counters.usage[1] = [{"ref": "usage:pax8:sub-9", "label": "M365", "quantity": "18"}]
    row = _line_row(hub("bill", "preview", "--date", "2026-04-01"), "M365 seats")
    assert "+3 licences: M365 (15 → 18)" in row


def test_prorata_17_to_31_is_a_change_not_no_change(hub):
    """Seed 002's example A: 15–31 March is 17.00 of 31.00; April's full month says so."""
    hub("org", "create", "Acme")
    hub("recurring", "create", "1", "--start", "2026-03-15", "--bill-from-start")
    hub("recurring", "add-line", "1", "--description", "Support plan", "--price", "31")
    first = _line_row(hub("bill", "preview", "--date", "2026-03-15"), "Support plan")
    assert "17.00" in first
    hub("bill", "confirm", "1")
    row = _line_row(hub("bill", "preview", "--date", "2026-04-01"), "Support plan")
    assert "31.00" in row
    assert "pro-rata ended: 17.00 → 31.00" in row
    assert "no change" not in row


def test_price_change_and_unchanged_lines(hub):
    hub("org", "create", "Acme")
    hub("recurring", "create", "1", "--start", "2026-03-01")
    hub("recurring", "add-line", "1", "--description", "Backup", "--price", "10")
    hub("recurring", "add-line", "1", "--description", "Firewall", "--price", "25")
    hub("bill", "preview", "--date", "2026-03-01")
    hub("bill", "confirm", "1")
    with session_scope(hub.ctx.engine) as session:
        line = session.exec(select(RecurringLine).where(
            RecurringLine.description == "Backup")).one()
        line.unit_price = Decimal("12")
    out = hub("bill", "preview", "--date", "2026-04-01")
    assert "unit price 10 → 12" in _line_row(out, "Backup")
    assert "no change" in _line_row(out, "Firewall")  # same quantity, price and amount


def test_a_line_that_ended_is_said(hub):
    hub("org", "create", "Acme")
    hub("recurring", "create", "1", "--start", "2026-03-01")
    hub("recurring", "add-line", "1", "--description", "Backup", "--price", "10",
        "--qty", "3")
    hub("recurring", "add-line", "1", "--description", "Firewall", "--price", "25")
    hub("bill", "preview", "--date", "2026-03-01")
    hub("bill", "confirm", "1")
    with session_scope(hub.ctx.engine) as session:
        line = session.exec(select(RecurringLine).where(
            RecurringLine.description == "Backup")).one()
        line.active = False
    out = hub("bill", "preview", "--date", "2026-04-01")
    assert "line ended: Backup (was 3 × 10 = 30.00)" in out


# ------------------------------------------------------------------------------ provenance
def test_invoice_show_and_bill_show_list_provenance_on_demand(hub, counters):
    hub("org", "create", "Acme")
    hub("recurring", "create", "1", "--start", "2026-03-01")
    hub("recurring", "add-line", "1", "--type", "asset_counter", "--description",
        "Managed workstation", "--price", "30")
    counters.devices[1] = [{"ref": "asset:7", "label": "IL08-PC02"},
                           {"ref": "asset:8", "label": "IL08-PC03"}]
    hub("bill", "preview", "--date", "2026-03-01")
    plain = hub("bill", "show", "1")
    assert "IL08-PC02" not in plain  # only on demand
    shown = hub("bill", "show", "1", "--provenance")
    assert "↳ IL08-PC02" in shown and "asset:7" in shown and "↳ IL08-PC03" in shown
    hub("bill", "confirm", "1")
    assert "IL08-PC03" not in hub("invoice", "show", "1")
    shown = hub("invoice", "show", "1", "--provenance")
    assert "↳ IL08-PC02" in shown and "asset:8" in shown
    assert "--provenance" in hub("invoice", "show", "--help")


# ------------------------------------------------------------------------------ asset counter
@pytest.fixture
def stored_hub(tmp_path, counters):
    """The CLI over a context with the built-in stored counter (assets entered by hand)."""
    context = make_context("sqlite:///" + str(tmp_path / "s.sqlite"), tmp_path, counters,
                           defaults=DEFAULT_PLUGINS)
    width = cli_state.console.width
    cli_state.console.width = 250
    yield Hub(context)
    cli_state.console.width = width
    cli_state.reset()
    context.engine.dispose()


def test_asset_counter_without_status_filter_does_not_bill_retired_devices(stored_hub):
    hub = stored_hub
    hub("org", "create", "Acme")
    hub("org", "add-asset", "1", "PC-ACTIVE")
    hub("org", "add-asset", "1", "PC-OFFLINE", "--status", "offline")
    hub("org", "add-asset", "1", "PC-OLD", "--status", "retired")
    hub("recurring", "create", "1", "--start", "2026-03-01")
    hub("recurring", "add-line", "1", "--type", "asset_counter", "--description",
        "Managed workstation", "--price", "30")
    hub("recurring", "add-line", "1", "--type", "asset_counter", "--description",
        "Retired kept on file", "--price", "1", "--filters", '{"status": "retired"}')
    out = hub("bill", "preview", "--date", "2026-03-01", "--limit", "1")
    row = _line_row(out, "Managed workstation")
    assert row.split("│")[2].strip() == "2", row  # active + offline, never the retired one
    assert "60.00" in row
    shown = hub("bill", "show", "1", "--provenance")
    assert "↳ PC-OLD" in shown  # ... only where a line asks for retired devices by status
    retired_row = _line_row(shown, "Retired kept on file")
    assert retired_row.split("│")[2].strip() == "1", retired_row


# ------------------------------------------------------------------------------ contracts
def _contract(hub, start="2026-01-01", cycles="3", name="Support"):
    hub("contract", "create", "1", name, "--start", start, "--cycles", cycles)


def test_contract_preview_shows_the_components(hub, counters):
    hub("org", "create", "Initech")
    _contract(hub)
    hub("contract", "add-line", "1", "--description", "Support plan", "--price", "100")
    hub("contract", "add-line", "1", "--type", "user_counter", "--description",
        "M365 users", "--price", "20")
    counters.users[1] = [{"ref": "contact:1", "label": "Dana"},
                         {"ref": "contact:2", "label": "Eli"}]
    out = hub("contract", "invoice", "1", "--preview")
    assert "Support plan" in _line_row(out, "Support plan") and \
        "100.00" in _line_row(out, "Support plan")
    users = _line_row(out, "M365 users")
    assert "40.00" in users and users.split("│")[2].strip() == "2"
    assert "would be: 140.00 USD" in out
    with session_scope(hub.ctx.engine) as session:
        assert session.exec(select(Invoice)).all() == []  # a preview stores nothing


def test_contract_invoice_many_reports_each_contracts_outcome(hub):
    hub("org", "create", "Initech")
    _contract(hub, cycles="1", name="One")          # contract 1: one cycle
    _contract(hub, cycles="2", name="Two")          # contract 2
    hub("contract", "add-line", "1", "--description", "Plan one", "--price", "10")
    hub("contract", "add-line", "2", "--description", "Plan two", "--price", "20")
    hub("contract", "invoice", "1")                  # its only cycle is invoiced now

    preview = hub("contract", "invoice-many", "2", "1", "99", "--preview")
    assert hub.code == 1
    assert "Plan two" in preview and "would be invoiced" in preview
    with session_scope(hub.ctx.engine) as session:
        assert len(session.exec(select(Invoice)).all()) == 1  # nothing stored by the preview

    out = hub("contract", "invoice-many", "1", "2", "99")
    assert hub.code == 1  # not every contract was invoiced
    assert "every billing cycle of this contract is already invoiced" in _line_row(out, "│ 1 ")
    assert "invoiced as" in _line_row(out, "│ 2 ")
    assert "NOT invoiced: billing contract 99 does not exist" in _line_row(out, "│ 99 ")
    assert "1 of 3 contract(s) invoiced; not invoiced: 1, 99." in out
    with session_scope(hub.ctx.engine) as session:
        cycle = session.exec(select(BillingCycle).where(BillingCycle.contract_id == 2,
                                                        BillingCycle.number == 1)).one()
        assert cycle.invoice_id is not None  # contract 2 was invoiced despite the others

    again = hub("contract", "invoice-many", "2")
    assert hub.code == 0 and "1 of 1 contract(s) invoiced." in again


def test_contract_anchored_on_the_31st_returns_to_the_31st(hub):
    hub("org", "create", "Initech")
    _contract(hub, start="2026-01-31", cycles="5")
    hub("contract", "add-line", "1", "--description", "Plan", "--price", "100")
    with session_scope(hub.ctx.engine) as session:
        cycles = [(c.start, c.end) for c in session.exec(select(BillingCycle).order_by(
            BillingCycle.number)).all()]
    day = dt.date.fromisoformat
    assert cycles == [(day("2026-01-31"), day("2026-02-27")),
                      (day("2026-02-28"), day("2026-03-30")),
                      (day("2026-03-31"), day("2026-04-29")),
                      (day("2026-04-30"), day("2026-05-30")),
                      (day("2026-05-31"), day("2026-06-29"))]
    out = hub("contract", "cycles", "1")
    assert "2026-03-31" in out and "2026-05-31" in out
    # every cycle is a whole cycle: no pro-rata however short its month
    out = hub("contract", "invoice", "1", "--cycle", "2", "--preview")
    assert "would be: 100.00 USD" in out and "pro-rata" not in out


def test_api_invoice_many_lists_every_outcome(ctx, hub):
    from dramatiq.brokers.stub import StubBroker
    from fastapi.testclient import TestClient

    from hub.jobs import build_runtime
    from hub.web.app import create_app
    from hub.web.tokens import create_token

    hub("org", "create", "Initech")
    _contract(hub, cycles="1", name="One")
    hub("contract", "add-line", "1", "--description", "Plan one", "--price", "10")
    runtime = build_runtime(ctx, broker=StubBroker())
    token = create_token(ctx.engine, "issue-19")
    with TestClient(create_app(ctx, runtime),
                    headers={"Authorization": f"Bearer {token}"}) as client:
        answer = client.post("/contracts/invoice-many", json={"contracts": [1, 42]})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["failed"] == 1
        first, missing = body["outcomes"]
        assert first["invoiced"] and Decimal(first["invoice"]["total"]) == Decimal("10")
        assert first["invoice"]["lines"][0]["description"] == "Plan one"
        assert not missing["invoiced"] and "does not exist" in missing["error"]
        refused = client.post("/contracts/invoice-many", json={"contracts": []})
        assert refused.status_code == 422
        preview = client.post("/contracts/1/invoice", json={"preview": True, "cycle": 1,
                                                           "replace": True})
        assert Decimal(preview.json()["invoice"]["lines"][0]["amount"]) == Decimal("10")
    runtime.close()


# ------------------------------------------------------------------------------ customer PDF
def test_customer_pdf_prints_customer_text_not_internal_change_notes(hub, counters, tmp_path):
    import io

    from pypdf import PdfReader

    hub("org", "create", "Acme")
    hub("recurring", "create", "1", "--start", "2026-03-01", "--ticket-charges")
    hub("recurring", "add-line", "1", "--type", "asset_counter", "--description",
        "Managed workstation", "--price", "30")
    counters.devices[1] = [{"ref": "asset:1", "label": "IL08-PC01"},
                           {"ref": "asset:2", "label": "IL08-PC02"}]
    hub("bill", "preview", "--date", "2026-03-01")
    hub("bill", "confirm", "1")
    hub("org", "ticket", "1", "4711", "Printer jam")
    hub("org", "ticket-charge", "1", "Fixed the printer", "--qty", "1", "--price", "80",
        "--charged")
    counters.devices[1] = counters.devices[1][:1]
    hub("bill", "preview", "--date", "2026-04-01")
    hub("bill", "confirm", "2")
    internal = hub("invoice", "show", "2")
    assert "-1 device: IL08-PC02" in internal
    assert "pending ticket charge: #4711 Fixed the printer" in internal

    target = tmp_path / "invoice.pdf"
    hub("pdf", "invoice", "2", "--output", str(target))
    assert hub.code == 0
    text = "\n".join(page.extract_text()
                      for page in PdfReader(io.BytesIO(target.read_bytes())).pages)
    assert "Managed workstation" in text and "Ticket #4711: Fixed the printer" in text
    assert "IL08-PC02" not in text and "-1 device" not in text
    assert "pending ticket charge" not in text


# ------------------------------------------------------------------------------ invoice groups
def test_invoice_group_combines_its_agreements_into_one_invoice(hub):
    """Seed 001's example, combined: two agreements aligned to 1 December and a third dated
    16 November joining the group make ONE December invoice with each agreement's lines and
    the third one's pro-rata 16–30 November visible."""
    hub("org", "create", "Acme")
    assert "invoiced together" in hub("recurring", "group-create", "1", "Monthly",
                                      "--date", "2026-12-01", "--combine")
    hub("recurring", "create", "1", "--start", "2026-12-01", "--name", "Backup", "--group", "1")
    hub("recurring", "create", "1", "--start", "2026-12-01", "--name", "Support", "--group", "1")
    hub("recurring", "create", "1", "--start", "2026-11-16", "--name", "Firewall",
        "--bill-from-start")
    assert "next run 2026-12-01" in hub("recurring", "join", "3", "1")
    for schedule, price in (("1", "10"), ("2", "20"), ("3", "30")):
        hub("recurring", "add-line", schedule, "--description", "Service", "--price", price)

    out = hub("bill", "preview", "--date", "2026-12-01")
    assert "1 invoice(s)" in out
    assert "Backup: Service" in out and "Support: Service" in out
    prorata = _line_row(out, "Firewall: Service (pro-rata)")
    assert "15.00" in prorata and "pro-rata 16 Nov 2026–30 Nov 2026: 15/30 days" in prorata
    assert "30.00" in _exact_row(out, "Firewall: Service")
    # 10 + 20 + 15 (16–30 Nov) + 30 (December)
    assert "75.00" in _line_row(out, "Total")
    assert "1 invoice(s) finalised" in hub("bill", "confirm", "1")
    listing = hub("recurring", "list")
    assert listing.count("2027-01-01") >= 3  # every agreement advanced

    january = hub("bill", "preview", "--date", "2027-01-01")
    assert "1 invoice(s)" in january
    assert "no change" in _line_row(january, "Backup: Service")  # compared with December's
    assert "60.00" in _line_row(january, "Total")
    # back to one invoice each while January's combined draft waits in batch 2: refused, or
    # the next preview would bill January again per agreement
    with pytest.raises(EditNotAllowed, match="combined draft is in preview batch"):
        hub("recurring", "group-combine", "1", "--separate")
    hub("bill", "discard", "2")

    hub("recurring", "group-combine", "1", "--separate")
    assert "3 invoice(s)" in hub("bill", "preview", "--date", "2027-01-01")


def test_an_agreement_already_in_a_preview_is_not_billed_twice_by_its_group(hub):
    hub("org", "create", "Acme")
    hub("recurring", "group-create", "1", "Monthly", "--date", "2026-12-01")
    hub("recurring", "create", "1", "--start", "2026-12-01", "--name", "Backup", "--group", "1")
    hub("recurring", "add-line", "1", "--description", "Service", "--price", "10")
    assert "1 invoice(s)" in hub("bill", "preview", "--date", "2026-12-01")  # batch 1
    hub("recurring", "group-combine", "1", "--combine")
    hub("recurring", "create", "1", "--start", "2026-12-01", "--name", "Support", "--group", "1")
    hub("recurring", "add-line", "2", "--description", "Service", "--price", "20")
    out = hub("bill", "preview", "--date", "2026-12-01")  # batch 2
    # Backup's own December invoice is held by batch 1: not merged into a group invoice again
    assert "1 invoice(s)" in out and "schedule:1 from 01 Dec 2026: already in preview batch 1" \
        in out
    assert "20.00" in _line_row(out, "Total") and "Backup" not in out
