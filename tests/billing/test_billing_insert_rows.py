"""insert_rows (the billing's and the ledger's bulk insert) stores exactly what an executemany
of the same rows stores, ids in the order given, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session

import hub.db.models as models
from hub.db.engine import make_engine
from hub.db.models import Invoice, InvoiceLine, Organisation
from hub.db.sql import insert_rows


def _lines(invoice_id: int) -> list[dict]:
    day = dt.date(2026, 4, 1)
    return [{"invoice_id": invoice_id, "position": n, "line_type": kind,
             "description": f"line {n} — «ünïcode» 'quoted', {{braces}} back\\slash\nnew line",
             "product_id": None,
             "quantity": Decimal(quantity), "unit_price": Decimal("12.50"),
             "amount": Decimal("12.50") * Decimal(quantity), "tax_rate": Decimal("20"),
             "tax_amount": Decimal("2.5000"), "period_start": day,
             "period_end": day + dt.timedelta(days=29), "source_line_key": f"line:{n}",
             "provenance": [{"ref": f"asset:{n}", "label": 'a "device"', "quantity": "1"}]
             if n % 2 else [], "change": None if n % 3 else "first invoice",
             "prorata_note": None}
            for n, (kind, quantity) in enumerate(
                [("standard", "1"), ("asset_counter", "3"), ("vendor_usage", "0.2500"),
                 ("user_counter", "0"), ("standard", "-2")] * 3)]


def _stored(engine) -> list[tuple]:
    t = InvoiceLine.__table__
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(t).order_by(t.c.id))]


def _check(url: str) -> None:
    engine = make_engine(url)
    results = []
    try:
        for bulk in (False, True):
            models.metadata.drop_all(engine)
            models.metadata.create_all(engine)
            with Session(engine) as session:
                org = Organisation(name="Acme", currency="USD", billing_day=1,
                                   payment_due_days=14)
                session.add(org)
                session.flush()
                invoice_row = Invoice(organisation_id=org.id, currency="USD",
                                      issue_date=dt.date(2026, 4, 1),
                                      due_date=dt.date(2026, 4, 15))
                session.add(invoice_row)
                session.commit()
                invoice = invoice_row.id
            with engine.begin() as conn:
                if bulk:
                    insert_rows(conn, InvoiceLine.__table__, _lines(invoice))
                else:
                    conn.execute(sa.insert(InvoiceLine.__table__), _lines(invoice))
            results.append(_stored(engine))
        assert results[0] == results[1]
        assert [r[2] for r in results[1]] == list(range(15))  # positions follow the ids
    finally:
        models.metadata.drop_all(engine)
        engine.dispose()


def test_insert_rows_stores_what_executemany_stores_on_sqlite(tmp_path):
    _check("sqlite:///" + str(tmp_path / "rows.sqlite"))


@pytest.mark.postgres
def test_insert_rows_stores_what_executemany_stores_on_postgres(hub_postgres_url):
    _check(hub_postgres_url)
