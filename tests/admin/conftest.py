"""Fixtures for the web admin tests: an app over an empty database with one user per role
(fast, for security tests), and the demo month served over HTTP (for the pages and the
browser)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from hub.db.engine import session_scope

PASSWORD = "a long enough password"
ROLES = ("admin", "approver", "viewer")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of a page's first form."""
    match = CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD):
    """Log ``client`` in through the form; returns the login POST's response."""
    token = csrf_of(client.get("/admin/login").text)
    return client.post("/admin/login", data={"username": username, "password": password,
                                             "csrf_token": token, "next": "/admin/"},
                       follow_redirects=False)


@pytest.fixture
def admin_ctx(make_hub_context):
    """A hub context over an empty database with users ann (admin), alice (approver) and
    victor (viewer)."""
    from hub.access import add_user

    ctx = make_hub_context()
    with session_scope(ctx.engine) as session:
        for name, role in (("ann", "admin"), ("alice", "approver"), ("victor", "viewer")):
            add_user(session, name, PASSWORD, role)
    return ctx


@pytest.fixture
def admin_app(admin_ctx):
    """The hub's web app over :func:`admin_ctx`."""
    from hub.web.app import create_app

    return create_app(admin_ctx)


@pytest.fixture
def invoice_id(admin_ctx) -> int:
    """An unpaid USD invoice of 644.00, in the ledger."""
    import datetime as dt
    from decimal import Decimal

    from hub.db.models import Invoice, InvoiceStatus, Organisation
    from hub.ledger import post_invoice

    day = dt.date(2026, 1, 1)
    with session_scope(admin_ctx.engine) as s:
        org = Organisation(name="Acme", currency="USD")
        s.add(org)
        s.flush()
        invoice = Invoice(organisation_id=org.id, number="INV-1", status=InvoiceStatus.unpaid,
                          issue_date=day, due_date=day, currency="USD",
                          subtotal=Decimal("644.00"), total=Decimal("644.00"))
        s.add(invoice)
        s.flush()
        post_invoice(s, invoice)
        return invoice.id


@pytest.fixture
def client_as(admin_app):
    """``client_as("alice")``: a test client logged in as that user."""
    def factory(username: str) -> TestClient:
        client = TestClient(admin_app)
        response = login(client, username)
        assert response.status_code == 303, response.text
        return client

    return factory


@dataclass
class DemoSite:
    """The demo month's data served by the hub's web app."""

    url: str
    ctx: object
    config: Path
    result: object


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory):
    """``hub demo`` with 8 organisations, then its web app on a local port (what the demo's
    summary tells the reader to open)."""
    from hub.config import load_settings
    from hub.demo import run_demo
    from hub.demo.summary import print_summary
    from hub.host.context import build_context
    from hub.testing.sandbox import SandboxServer
    from hub.web.app import create_app

    mp = pytest.MonkeyPatch()
    for name in ("HUB_DATABASE_URL", "HUB_BROKER_URL", "HUB_CONFIG", "HUB_SECRET_KEY"):
        mp.delenv(name, raising=False)
    out = io.StringIO()
    folder = tmp_path_factory.mktemp("admin-demo") / "demo-data"
    result = run_demo(folder, 8, console=Console(file=out, width=200))
    print_summary(result, Console(file=out, width=200))
    ctx = build_context(load_settings(result.config_path))
    with SandboxServer(create_app(ctx)) as server:
        yield DemoSite(server.url, ctx, result.config_path, result)
    ctx.engine.dispose()
    mp.undo()
