"""A billing chunk reads its organisations once (names and billing columns), and never serves
them stale: what its session writes, or a later transaction, is read afresh."""

from sqlalchemy import event
from sqlmodel import Session

from hub.billing.organisations import organisation_rows
from hub.db.models import Organisation


def test_organisations_are_read_once_per_transaction_and_afresh_after_a_write(hub_engine):
    with Session(hub_engine) as session:
        session.add(Organisation(name="Acme", currency="USD", billing_day=1))
        session.commit()
    selects = []

    @event.listens_for(hub_engine, "before_cursor_execute")
    def count(conn, cursor, statement, *args):
        if statement.startswith("SELECT"):
            selects.append(statement)

    with Session(hub_engine) as session:
        first = organisation_rows(session, [1, 99])
        again = organisation_rows(session, [1])
        assert len(selects) == 1
        assert (first[1].name, first[1].currency, again[1].currency) == ("Acme", "USD", "USD")
        assert 99 not in first
        session.get(Organisation, 1).currency = "EUR"
        session.flush()
        assert organisation_rows(session, [1])[1].currency == "EUR"
        session.commit()
        assert organisation_rows(session, [1])[1].currency == "EUR"
        assert len(selects) == 4  # the get, and after the flush and after the commit
