"""`hub connect xero NAME` and the OAuth callback route, on a bare Typer and FastAPI app."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import httpx
import typer
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hub import Connection, MemoryState, PushStatus

from hub_accounting_xero import cli, plugin
from hub_accounting_xero.auth import TENANT, TOKENS
from hub_accounting_xero.settings import XeroSettings
from hub_accounting_xero.testing import invoice_doc


class RecordingState(MemoryState):
    """Remembers which keys were written as secrets."""

    def __init__(self) -> None:
        super().__init__()
        self.secret_keys: set[str] = set()

    def set(self, key, value, *, secret=False):
        if secret:
            self.secret_keys.add(key)
        super().set(key, value, secret=secret)

    def compare_and_set(self, key, expected, value, *, secret=False):
        if secret:
            self.secret_keys.add(key)
        return super().compare_and_set(key, expected, value, secret=secret)


def unconnected(sandbox, url, name="books") -> Connection:
    settings = XeroSettings(**sandbox.settings_for(
        url, redirect_uri="http://hub.test/plugins/xero/callback"))
    return Connection(name=name, plugin="xero", settings=settings, state=RecordingState())


def hub_cli(monkeypatch, connection) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def version() -> None:  # a second command so sub-commands keep their names
        """Another hub command."""

    plugin.hub_register_commands(app=app)
    monkeypatch.setattr(cli, "cli_connection", lambda name: connection)
    return app


def test_connect_prints_the_consent_url_and_callback_stores_tokens(sandbox, xero_url, monkeypatch):
    conn = unconnected(sandbox, xero_url)
    result = CliRunner().invoke(hub_cli(monkeypatch, conn), ["connect", "xero", "books"])
    assert result.exit_code == 0, result.output
    url = next(line for line in result.output.splitlines() if line.startswith("http"))
    query = parse_qs(urlparse(url).query)
    assert query["client_id"] == [sandbox.client_id]
    assert query["redirect_uri"] == ["http://hub.test/plugins/xero/callback"]
    assert query["state"][0].startswith("books:")

    # the user consents at Xero, which redirects the browser to the hub's callback
    consent = httpx.get(url, follow_redirects=False)
    callback = urlparse(consent.headers["location"])
    router = APIRouter()
    plugin.hub_register_routes(router=router)
    web = FastAPI()
    web.state.ctx = SimpleNamespace(connection=lambda name: {"books": conn}[name])
    web.include_router(router, prefix="/plugins")
    answer = TestClient(web).get(f"/plugins/xero/callback?{callback.query}")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"connection": "books", "status": "connected",
                             "tenant_id": sandbox.tenant.tenant_id}
    assert conn.state.get(TOKENS)["refresh_token"] and TOKENS in conn.state.secret_keys
    assert conn.state.get(TENANT) == sandbox.tenant.tenant_id
    [outcome] = plugin.hub_push_invoices(connection=conn, invoices=[invoice_doc(1)])
    assert outcome.status is PushStatus.synced

    # replaying the callback (or a forged one) is refused
    again = TestClient(web).get(f"/plugins/xero/callback?{callback.query}")
    assert again.status_code == 400 and "hub connect xero books" in again.json()["detail"]


def test_connect_refuses_a_connection_of_another_plugin(sandbox, xero_url, monkeypatch):
    conn = unconnected(sandbox, xero_url)
    conn.plugin = "stripe"
    result = CliRunner().invoke(hub_cli(monkeypatch, conn), ["connect", "xero", "books"])
    assert result.exit_code != 0 and "not xero" in str(result.exception)


def test_denied_consent_says_how_to_retry(sandbox, xero_url):
    router = APIRouter()
    plugin.hub_register_routes(router=router)
    web = FastAPI()
    web.include_router(router, prefix="/plugins")
    answer = TestClient(web).get("/plugins/xero/callback?error=access_denied&state=books:x")
    assert answer.status_code == 400 and "hub connect xero books" in answer.json()["detail"]
