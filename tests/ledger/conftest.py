"""Fixtures for the ledger tests: a throwaway SQLite database, an organisation and a helper that
finalises an invoice the way the billing confirm does (status unpaid, number, posted)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from sqlmodel import Session

from hub.db.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, Organisation
from hub.ledger import post_invoice
from hub.testing.api import api_client

_numbers = itertools.count(1)


@pytest.fixture
def engine(hub_engine):
    """The hub test kit's temporary SQLite database with every table."""
    return hub_engine


@pytest.fixture
def session(hub_session):
    """A session on that database (rows stay readable after commit)."""
    return hub_session


@pytest.fixture
def org(session):
    o = Organisation(name="Acme", currency="USD", billing_day=1, payment_due_days=14)
    session.add(o)
    session.commit()
    return o


def _make_invoice(session, org_id: int, total: str, *, issue: dt.date = dt.date(2026, 3, 1),
                 due: dt.date | None = None, kind: InvoiceKind = InvoiceKind.one_time,
                 number: str | None = None, lines: int = 1) -> Invoice:
    """A final invoice of ``total`` (no tax), posted to the ledger like the billing confirm."""
    value = Decimal(total)
    inv = Invoice(organisation_id=org_id, kind=kind, status=InvoiceStatus.draft,
                  number=number or f"INV{next(_numbers):05d}", currency="USD", issue_date=issue,
                  due_date=due or issue + dt.timedelta(days=14), subtotal=value, total=value)
    session.add(inv)
    session.flush()
    share = value / lines
    for i in range(lines):
        session.add(InvoiceLine(invoice_id=inv.id, position=i, description=f"item {i + 1}",
                                quantity=Decimal(1), unit_price=share, amount=share))
    post_invoice(session, inv, today=issue)
    session.flush()
    return inv


@pytest.fixture
def make_invoice(session, org):
    """``make_invoice("120.00", issue=..., due=..., kind=...)`` for the fixture organisation."""
    def make(total: str, **kwargs) -> Invoice:
        return _make_invoice(session, kwargs.pop("org_id", org.id), total, **kwargs)
    return make


def _acme_with_posted_invoice(engine, *, number: str, issue_date: dt.date, due_date: dt.date,
                              **fields) -> tuple[int, int]:
    """Organisation "Acme" with one posted 100.00 "support" invoice (extra invoice ``fields``,
    e.g. memo) in ``engine``'s database; returns ``(organisation_id, invoice_id)``."""
    with Session(engine, expire_on_commit=False) as s:
        org = Organisation(name="Acme")
        s.add(org)
        s.flush()
        inv = Invoice(organisation_id=org.id, number=number, issue_date=issue_date,
                      due_date=due_date, subtotal=Decimal("100"), total=Decimal("100"), **fields)
        s.add(inv)
        s.flush()
        s.add(InvoiceLine(invoice_id=inv.id, description="support", unit_price=Decimal("100"),
                          amount=Decimal("100")))
        post_invoice(s, inv)
        s.commit()
    return org.id, inv.id


@pytest.fixture
def acme_with_posted_invoice():
    """``acme_with_posted_invoice(engine, number=..., issue_date=..., due_date=..., memo=...)``:
    a fresh organisation with one posted 100.00 invoice; returns ``(organisation_id,
    invoice_id)`` (used by the API and CLI lock tests, which bring their own databases)."""
    return _acme_with_posted_invoice


@pytest.fixture
def kit():
    """The Stripe plugin's local sandbox and test kit (skipped without the plugin)."""
    testing = pytest.importorskip("hub_payments_stripe.testing")
    kit = testing.make_kit()
    yield kit
    kit.close()


@pytest.fixture
def stripe_ctx(kit, make_hub_context):
    """A hub context with the Stripe plugin and a ``stripe`` connection to :func:`kit`'s
    sandbox."""
    from hub_payments_stripe import plugin
    from hub_payments_stripe.testing import SANDBOX_BASE

    settings = kit.connection.settings
    return make_hub_context(plugin, connections=[{
        "name": kit.connection.name, "plugin": "stripe",
        "settings": {"api_key": settings.api_key.get_secret_value(),
                     "webhook_secret": settings.webhook_secret.get_secret_value(),
                     "api_base": SANDBOX_BASE}}])


@pytest.fixture
def hub_cli(tmp_path, monkeypatch, capsys):
    """``hub_cli(*args) -> (exit code, stdout, stderr)``: the real CLI (:func:`hub.cli.main.
    main`, with its one-line refusals and exit codes) on a fresh, migrated SQLite database in
    ``tmp_path / "data"``."""
    from hub.testing.cli import real_cli

    with real_cli(tmp_path, monkeypatch, capsys) as run:
        yield run


@pytest.fixture
def api_ctx(make_hub_context):
    """A hub over an empty database, for tests of the REST API."""
    return make_hub_context()


@pytest.fixture
def api(api_ctx):
    """A test client of the REST API over ``api_ctx``, sending the bearer token of
    "integrator"."""
    with api_client(api_ctx, "integrator") as client:
        yield client
