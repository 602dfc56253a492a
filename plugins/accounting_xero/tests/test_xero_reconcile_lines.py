"""Invoice lines at Xero come back for reconciliation (``attributes["lines"]``) at no extra API
cost, and a line changed at Xero is reported by ``hub reconcile accounting``."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from sqlmodel import Session

from hub.cli.main import main
from hub.db.engine import make_engine
from hub.db.models import ExternalLink, Invoice, InvoiceLine, InvoiceStatus, Organisation, metadata

from hub_accounting_xero import plugin
from hub_accounting_xero.testing import connected, invoice_doc, line

TWO_LINES = (line("Support", "1", "200.00"), line("Backup", "2", "50.00"))


def test_fetched_invoices_carry_their_lines_without_extra_calls(sandbox, xero_url):
    conn = connected(sandbox, xero_url)
    docs = [invoice_doc(i, lines=TWO_LINES) for i in range(1, 131)]  # two pages of 100
    plugin.hub_push_invoices(connection=conn, invoices=docs)
    before = len(sandbox.api_calls())
    invoices = plugin.hub_fetch_external_documents(connection=conn, kind="invoice", since=None,
                                                   until=None)
    assert len(invoices) == 130
    assert {json.dumps(d.attributes["lines"]) for d in invoices} == {json.dumps([
        {"quantity": "1", "amount": "200.00", "description": "Support"},
        {"quantity": "2", "amount": "100.00", "description": "Backup"}])}
    calls = sandbox.api_calls()[before:]
    assert [(c.method, c.path, c.query.get("page")) for c in calls] == [
        ("GET", "/Invoices", "1"), ("GET", "/Invoices", "2")]  # no call per invoice


def test_an_unpaged_listing_has_no_lines_as_at_xero(sandbox, xero_url):
    from hub_accounting_xero.client import XeroClient

    conn = connected(sandbox, xero_url)
    plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1, lines=TWO_LINES)])
    with XeroClient(conn) as client:
        assert "LineItems" not in client.get("/Invoices")["Invoices"][0]
        paged = client.get("/Invoices", params={"page": "1"})["Invoices"][0]
        assert len(paged["LineItems"]) == 2
        summary = client.get("/Invoices", params={"page": "1", "summaryOnly": "true"})
        assert "LineItems" not in summary["Invoices"][0]


def _hub_with_xero(tmp_path, sandbox, url):
    """A hub (SQLite) whose ``xero`` connection went through consent at the sandbox."""
    database = tmp_path / "hub.sqlite"
    engine = make_engine(f"sqlite:///{database}")
    metadata.create_all(engine)
    from hub.host.secrets import load_secret_box

    box = load_secret_box(None, tmp_path / "data")  # the key `hub` reads from the data dir

    def toml_value(key: str, value) -> str:  # a JSON string is a TOML string
        if key in ("client_secret", "webhook_key"):  # secrets are never written in clear
            return "{ encrypted = %s }" % json.dumps(box.encrypt(str(value)))
        if isinstance(value, dict):
            return "{ " + ", ".join(f"{json.dumps(str(k))} = {json.dumps(str(v))}"
                                    for k, v in value.items()) + " }"
        return json.dumps(str(value))

    settings = "".join(f"{key} = {toml_value(key, value)}\n"
                       for key, value in sandbox.settings_for(url).items() if value is not None)
    config = tmp_path / "hub.toml"
    config.write_text(f'database_url = "sqlite:///{database.as_posix()}"\n'
                      f'data_dir = "{(tmp_path / "data").as_posix()}"\n'
                      '[[connections]]\nname = "xero"\nplugin = "xero"\n'
                      f"[connections.settings]\n{settings}", encoding="utf-8")
    from hub.config import load_settings
    from hub.host.context import build_context

    ctx = build_context(load_settings(config))  # as the `hub` command builds it: durable state
    return engine, config, connected(sandbox, url, state=ctx.connection("xero").state)


def _seed_invoice(engine, xero_id: str) -> None:
    with Session(engine) as s:
        org = Organisation(name="Organisation 1", currency="USD")
        s.add(org)
        s.flush()
        inv = Invoice(organisation_id=org.id, number="INV-00001", status=InvoiceStatus.unpaid,
                      issue_date=dt.date(2026, 11, 1), due_date=dt.date(2026, 12, 1),
                      subtotal=Decimal("300"), total=Decimal("300"))
        s.add(inv)
        s.flush()
        assert inv.id == 1  # the id the pushed InvoiceDoc carries
        s.add_all([InvoiceLine(invoice_id=inv.id, position=0, description="Support",
                               quantity=Decimal("1"), unit_price=Decimal("200"),
                               amount=Decimal("200")),
                   InvoiceLine(invoice_id=inv.id, position=1, description="Backup",
                               quantity=Decimal("2"), unit_price=Decimal("50"),
                               amount=Decimal("100")),
                   ExternalLink(document_kind="invoice", document_id=inv.id, connection="xero",
                                external_id=xero_id)])
        s.commit()


def _reconcile(config, capsys) -> list[dict]:
    code = main(["--config", str(config), "reconcile", "accounting", "--format", "json"])
    out, err = capsys.readouterr()
    assert code in (0, 1), out + err
    return json.loads(out)["differences"]


def test_a_line_changed_at_xero_is_reported_by_hub_reconcile_accounting(
        tmp_path, sandbox, xero_url, capsys):
    engine, config, conn = _hub_with_xero(tmp_path, sandbox, xero_url)
    [pushed] = plugin.hub_push_invoices(connection=conn,
                                        invoices=[invoice_doc(1, lines=TWO_LINES)])
    _seed_invoice(engine, pushed.external_id)
    assert [d for d in _reconcile(config, capsys) if d["kind"] == "lines_differ"] == []

    # someone moves 50.00 from one line to the other in Xero: the total stays 300.00
    stored = sandbox.books().invoices[pushed.external_id]
    stored["LineItems"][0]["LineAmount"] = Decimal("150.00")
    stored["LineItems"][1]["LineAmount"] = Decimal("150.00")
    [difference] = [d for d in _reconcile(config, capsys) if d["kind"] == "lines_differ"]
    assert difference["document"] == "invoice INV-00001"
    assert "1 × Support = 200.00" in difference["hub_value"]
    assert "1 × Support = 150.00" in difference["other_value"]
    engine.dispose()
