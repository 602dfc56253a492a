"""`hub connect quickbooks NAME`, the OAuth callback (with the company's realmId) and
`hub quickbooks catch-up NAME`, on a bare Typer and FastAPI app as a third-party author would."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import httpx
import typer
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hub import Connection, MemoryState, PushStatus

from hub_accounting_quickbooks import cli, plugin
from hub_accounting_quickbooks.auth import REALM, TOKENS
from hub_accounting_quickbooks.settings import QuickBooksSettings
from hub_accounting_quickbooks.testing import invoice_doc


def unconnected(sandbox, url, name="books") -> Connection:
    settings = QuickBooksSettings(**sandbox.settings_for(
        url, redirect_uri="http://hub.test/plugins/quickbooks/callback"))
    return Connection(name=name, plugin="quickbooks", settings=settings, state=MemoryState(),
                      clock=sandbox.clock.now)


def hub_cli(monkeypatch, connection, recorded: list) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def version() -> None:  # a second command so sub-commands keep their names
        """Another hub command."""

    plugin.hub_register_commands(app=app)
    monkeypatch.setattr(cli, "cli_connection", lambda name: connection)
    monkeypatch.setattr(cli, "cli_record_payment_events",
                        lambda name, events: recorded.extend(events) or len(events))
    return app


def test_connect_callback_push_and_catch_up(sandbox, qbo_url, monkeypatch):
    conn = unconnected(sandbox, qbo_url)
    recorded: list = []
    app = hub_cli(monkeypatch, conn, recorded)
    result = CliRunner().invoke(app, ["connect", "quickbooks", "books"])
    assert result.exit_code == 0, result.output
    url = next(line for line in result.output.splitlines() if line.startswith("http"))
    query = parse_qs(urlparse(url).query)
    assert query["client_id"] == [sandbox.client_id] and query["state"][0].startswith("books:")

    consent = httpx.get(url, follow_redirects=False)
    callback = urlparse(consent.headers["location"])
    router = APIRouter()
    plugin.hub_register_routes(router=router)
    web = FastAPI()
    web.state.ctx = SimpleNamespace(connection=lambda name: {"books": conn}[name])
    web.include_router(router, prefix="/plugins")
    answer = TestClient(web).get(f"/plugins/quickbooks/callback?{callback.query}")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"connection": "books", "status": "connected",
                             "realm_id": sandbox.realm_id}
    assert conn.state.get(TOKENS)["refresh_token"] and conn.state.get(REALM) == sandbox.realm_id
    [pushed] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    assert pushed.status is PushStatus.synced
    again = TestClient(web).get(f"/plugins/quickbooks/callback?{callback.query}")
    assert again.status_code == 400 and "hub connect quickbooks books" in again.json()["detail"]

    # a payment recorded in QuickBooks whose webhook never comes: `catch-up` hands it over
    result = CliRunner().invoke(app, ["quickbooks", "catch-up", "books"])
    assert result.exit_code == 0 and "0 change(s)" in result.output
    invoice = sandbox.books().invoices()[pushed.external_id]
    with sandbox.lock:
        sandbox.books().create_payment({
            "CustomerRef": invoice["CustomerRef"], "TotalAmt": Decimal("35.00"),
            "TxnDate": "2026-11-20", "Line": [{"Amount": Decimal("35.00"), "LinkedTxn": [
                {"TxnId": pushed.external_id, "TxnType": "Invoice"}]}]})
    sandbox.clock.advance(5)
    result = CliRunner().invoke(app, ["quickbooks", "catch-up", "books"])
    assert result.exit_code == 0, result.output
    assert "1 change(s) found in QuickBooks, 1 new to the hub" in result.output
    assert [e.invoice_id for e in recorded] == [1]


def test_connect_refuses_a_connection_of_another_plugin(sandbox, qbo_url, monkeypatch):
    conn = unconnected(sandbox, qbo_url)
    conn.plugin = "xero"
    result = CliRunner().invoke(hub_cli(monkeypatch, conn, []), ["connect", "quickbooks", "books"])
    assert result.exit_code != 0 and "not quickbooks" in str(result.exception)


def test_denied_consent_says_how_to_retry():
    router = APIRouter()
    plugin.hub_register_routes(router=router)
    web = FastAPI()
    web.include_router(router, prefix="/plugins")
    answer = TestClient(web).get("/plugins/quickbooks/callback?error=access_denied&state=books:x")
    assert answer.status_code == 400 and "hub connect quickbooks books" in answer.json()["detail"]


def test_the_plugin_is_found_through_the_hub_entry_points():
    from importlib.metadata import entry_points

    from hub.host.plugins import build_plugin_host

    [ep] = [e for e in entry_points(group="hub") if e.name == "accounting_quickbooks"]
    module = ep.load()
    host = build_plugin_host(load_entry_points=False,
                             extra_plugins=[("accounting_quickbooks", module)])
    ctype = host.connection_type("quickbooks")
    assert ctype.settings_model is QuickBooksSettings
    assert ctype.capabilities == {"accounting", "payments_poll"}
