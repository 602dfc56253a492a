"""Money round-trips exactly through SQLite and PostgreSQL (15 integer digits, 4 decimals)."""

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.db.engine import make_engine
from hub.db.models import Invoice, Organisation, metadata
from hub.db.types import ExactDecimal

amounts = st.decimals(min_value=Decimal("-999999999999999.9999"),
                      max_value=Decimal("999999999999999.9999"), places=4,
                      allow_nan=False, allow_infinity=False)

_metadata = sa.MetaData()
_amounts = sa.Table("money_probe", _metadata,
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("amount", ExactDecimal(), nullable=False))


def _round_trip_property(engine):
    _metadata.create_all(engine)

    @settings(max_examples=200, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(amount=amounts)
    def check(amount):
        with engine.begin() as conn:
            row_id = conn.execute(_amounts.insert().values(amount=amount)).inserted_primary_key[0]
            stored = conn.execute(sa.select(_amounts.c.amount).where(_amounts.c.id == row_id)
                                  ).scalar_one()
        assert isinstance(stored, Decimal)
        assert stored == amount

    check()
    # Extremes, explicitly, in case hypothesis did not pick them.
    for edge in ("999999999999999.9999", "-999999999999999.9999", "0.0001", "0"):
        with engine.begin() as conn:
            row_id = conn.execute(_amounts.insert().values(amount=Decimal(edge))
                                  ).inserted_primary_key[0]
            assert conn.execute(sa.select(_amounts.c.amount).where(_amounts.c.id == row_id)
                                ).scalar_one() == Decimal(edge)


def test_money_round_trips_exactly_through_sqlite(hub_sqlite_url):
    _round_trip_property(make_engine(hub_sqlite_url))


@pytest.mark.postgres
def test_money_round_trips_exactly_through_postgresql(hub_postgres_url):
    engine = make_engine(hub_postgres_url)
    _round_trip_property(engine)
    engine.dispose()


@pytest.mark.parametrize("bad,error", [
    (1.5, TypeError), (Decimal("1.00001"), ValueError),
    (Decimal("1000000000000000"), ValueError),
])
def test_storage_refuses_floats_and_lossy_values(hub_sqlite_url, bad, error):
    engine = make_engine(hub_sqlite_url)
    _metadata.create_all(engine)
    with pytest.raises(sa.exc.StatementError) as info:
        with engine.begin() as conn:
            conn.execute(_amounts.insert().values(amount=bad))
    assert isinstance(info.value.orig, error)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(_amounts)).scalar_one() == 0


def _negative_zero_is_stored_as_zero(engine):
    metadata.create_all(engine)
    _metadata.create_all(engine)
    negative_zero = Decimal("-0.004").quantize(Decimal("0.01"))
    assert str(negative_zero) == "-0.00"
    with engine.begin() as conn:
        conn.execute(_amounts.insert().values(amount=negative_zero))
        stored = conn.execute(sa.select(_amounts.c.amount)).scalar_one()
    assert stored == 0 and not stored.is_signed()
    # an invoice whose total rounded to a negative zero passes CHECK (total >= 0)
    with Session(engine) as session:
        org = Organisation(name="Acme", currency="USD", billing_day=1)
        session.add(org)
        session.flush()
        session.add(Invoice(organisation_id=org.id, issue_date=dt.date(2026, 4, 1),
                            due_date=dt.date(2026, 4, 15), subtotal=negative_zero,
                            total=negative_zero))
        session.commit()
    engine.dispose()


def test_negative_zero_is_stored_as_zero_on_sqlite(hub_sqlite_url):
    _negative_zero_is_stored_as_zero(make_engine(hub_sqlite_url))


@pytest.mark.postgres
def test_negative_zero_is_stored_as_zero_on_postgresql(hub_postgres_url):
    _negative_zero_is_stored_as_zero(make_engine(hub_postgres_url))
