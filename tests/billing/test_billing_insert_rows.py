"""insert_rows (the billing's and the ledger's bulk insert) stores exactly what an executemany
of the same rows stores, ids in the order given, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session

import hub.db.models as models
from hub.db.engine import make_engine
from hub.db.models import Invoice, InvoiceLine, Organisation
from hub.db.sql import insert_returning, insert_rows, update_rows


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


def _each_database(url: str, check) -> None:
    engine = make_engine(url)
    try:
        models.metadata.drop_all(engine)
        models.metadata.create_all(engine)
        with Session(engine) as session:
            org = Organisation(name="Acme", currency="USD", billing_day=1, payment_due_days=14)
            session.add(org)
            session.commit()
            org_id = org.id
        check(engine, org_id)
    finally:
        models.metadata.drop_all(engine)
        engine.dispose()


def _invoice(org_id: int, key: str, total: object = Decimal("10.00")) -> dict:
    day = dt.date(2026, 4, 1)
    return {"organisation_id": org_id, "kind": "recurring", "status": "draft", "currency": "USD",
            "issue_date": day, "due_date": day + dt.timedelta(days=14), "period_start": day,
            "period_end": day + dt.timedelta(days=29), "billing_key": key, "subtotal": total,
            "tax_total": Decimal(0), "total": total, "extra_fields": {"k": key},
            "amount_paid": Decimal(0), "credit_applied": Decimal(0), "note": "", "memo": "",
            "auto_bill": False, "prices_include_tax": False, "schedule_key": None,
            "created_at": dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc)}


def _refusals_and_conflicts(engine, org_id: int) -> None:
    it = Invoice.__table__
    # A float is refused even right after an equal Decimal (values are converted once per
    # distinct value: the float must not borrow the Decimal's conversion), and nothing stays.
    with pytest.raises(Exception, match="float"):
        with engine.begin() as conn:
            insert_rows(conn, it, [_invoice(org_id, "a"), _invoice(org_id, "b", 10.0)])
    with pytest.raises(Exception, match="decimal places"):
        with engine.begin() as conn:
            insert_rows(conn, it, [_invoice(org_id, "a"), _invoice(org_id, "b",
                                                                   Decimal("1.00001"))])
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(it)).scalar() == 0
    # insert_returning skips the rows whose key is held, and returns Python values.
    with engine.begin() as conn:
        first = insert_returning(conn, it, [_invoice(org_id, "a"), _invoice(org_id, "b")],
                                 skip_conflicts_on=["billing_key", "period_start"],
                                 returning=["id", "billing_key", "period_start"])
    with engine.begin() as conn:
        second = insert_returning(conn, it, [_invoice(org_id, "b"), _invoice(org_id, "c")],
                                  skip_conflicts_on=["billing_key", "period_start"],
                                  returning=["id", "billing_key", "period_start"])
    assert [(k, d) for _, k, d in first] == [("a", dt.date(2026, 4, 1)),
                                             ("b", dt.date(2026, 4, 1))]
    assert [(k, d) for _, k, d in second] == [("c", dt.date(2026, 4, 1))]
    assert first[0][0] < first[1][0] < second[0][0]
    # update_rows: each row its own values plus the same ones, exactly as an UPDATE stores them.
    ids = {key: invoice_id for invoice_id, key, _ in first + second}
    stamp = dt.datetime(2026, 4, 2, 9, 30, tzinfo=dt.timezone.utc)
    with Session(engine) as session:
        update_rows(session, it, "id", [{"id": ids["a"], "number": "INV-1"},
                                        {"id": ids["c"], "number": "INV-2"}],
                    {"id": sa.Integer(), "number": sa.String()},
                    status="unpaid", finalised_at=stamp, total=Decimal("12.5"))
        session.commit()
    with engine.connect() as conn:
        rows = {r.billing_key: r for r in conn.execute(sa.select(it))}
    assert (rows["a"].number, rows["a"].status, rows["a"].total) == ("INV-1", "unpaid",
                                                                     Decimal("12.5"))
    assert rows["a"].finalised_at.replace(tzinfo=dt.timezone.utc) == stamp
    assert (rows["c"].number, rows["b"].number, rows["b"].status) == ("INV-2", None, "draft")
    assert rows["b"].extra_fields == {"k": "b"}


def test_refusals_conflicts_and_updates_on_sqlite(tmp_path):
    _each_database("sqlite:///" + str(tmp_path / "more.sqlite"), _refusals_and_conflicts)


@pytest.mark.postgres
def test_refusals_conflicts_and_updates_on_postgres(hub_postgres_url):
    _each_database(hub_postgres_url, _refusals_and_conflicts)


def _json_values(url: str) -> None:
    """JSON columns store what SQLAlchemy's own JSON binding stores, the special values too
    (on PostgreSQL insert_rows writes the JSON text itself into a COPY)."""
    meta = sa.MetaData()
    table = sa.Table("json_values", meta, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("kept", sa.JSON(none_as_null=False)),
                     sa.Column("nulled", sa.JSON(none_as_null=True)))
    values = [None, sa.JSON.NULL, sa.null(), [], {}, {"a": "ü\n\\", "n": [1, 2.5, None]},
              "text", 0, True]
    rows = [{"kept": v, "nulled": v} for v in values]
    # as SQL: NULL is Python None; a JSON null is the text 'null'
    read = sa.select(table.c.id, sa.cast(table.c.kept, sa.Text), sa.cast(table.c.nulled, sa.Text)
                     ).order_by(table.c.id)
    engine = make_engine(url)
    stored = []
    try:
        for bulk in (False, True):
            meta.drop_all(engine)
            meta.create_all(engine)
            with engine.begin() as conn:
                if bulk:
                    insert_rows(conn, table, rows)
                else:
                    conn.execute(sa.insert(table), rows)
            with engine.connect() as conn:
                stored.append([(kept and json.loads(kept), nulled and json.loads(nulled))
                               if kept != "null" else ("null", nulled)
                               for _, kept, nulled in conn.execute(read)])
    finally:
        meta.drop_all(engine)
        engine.dispose()
    assert stored[0] == stored[1]
    assert stored[1][:3] == [("null", None), ("null", "null"), (None, None)]


def test_json_values_stored_as_sqlalchemy_binds_them_on_sqlite(tmp_path):
    _json_values("sqlite:///" + str(tmp_path / "json.sqlite"))


@pytest.mark.postgres
def test_json_values_stored_as_sqlalchemy_binds_them_on_postgres(hub_postgres_url):
    _json_values(hub_postgres_url)
