"""Fixtures for the ledger tests: a throwaway SQLite database, an organisation and a helper that
finalises an invoice the way the billing confirm does (status unpaid, number, posted)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from sqlmodel import Session

import hub.db.models as models
from hub.db.engine import make_engine
from hub.db.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, Organisation
from hub.ledger import post_invoice

_numbers = itertools.count(1)


@pytest.fixture
def engine(tmp_path):
    eng = make_engine("sqlite:///" + str(tmp_path / "t.sqlite"))
    models.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as s:
        yield s


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
