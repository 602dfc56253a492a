"""The accounting section's SQL text (hub.reconcile.accounting_sql): what each statement binds,
and what differs between SQLite and PostgreSQL. That the statements find the right documents
is checked by running them: the scenario tests, on both databases."""

from __future__ import annotations

import datetime as dt

from hub.reconcile.accounting_kinds import KINDS
from hub.reconcile.accounting_sql import AccountingSQL
from hub.reconcile.core import Options


def _bound(statement) -> dict:
    return {name: p.value for name, p in statement._bindparams.items()
            if not p.expanding}


def test_reconcile_sql_binds_the_connection_and_only_the_filters_asked_for():
    plain = AccountingSQL(KINDS["invoice"], "books", Options(today=dt.date(2026, 3, 1)),
                          "sqlite")
    assert _bound(plain.hub_stream(None)) == {"connection": "books", "kind": "invoice"}
    assert "organisation_id" not in plain.hub_stream(None).text
    assert _bound(plain.failed_jobs()) == {}  # names neither the connection nor the kind
    filtered = AccountingSQL(KINDS["payment"], "books", Options(
        today=dt.date(2026, 3, 1), organisation_id=7, since=dt.date(2026, 1, 1),
        until=dt.date(2026, 1, 31)), "postgresql")
    assert _bound(filtered.missing()) == {
        "connection": "books", "kind": "payment", "organisation_id": 7,
        "since": dt.date(2026, 1, 1), "until": dt.date(2026, 1, 31)}
    assert "t.date >= :since" in filtered.missing().text
    assert "t.status = 'succeeded'" in filtered.missing().text


def test_reconcile_sql_orders_keys_in_the_collation_asked_for_and_aggregates_per_database():
    options = Options(today=dt.date(2026, 3, 1))
    pg = AccountingSQL(KINDS["credit_note"], "books", options, "postgresql")
    assert pg.hub_stream("C").text.endswith('ORDER BY l.external_id COLLATE "C"')
    assert pg.hub_stream(None).text.endswith("ORDER BY l.external_id")
    assert "string_agg(" in pg.missing_ids(10).text
    assert "group_concat(" in AccountingSQL(KINDS["credit_note"], "books", options,
                                            "sqlite").missing_ids(10).text
    assert pg.unlinked_by_numbers() is not None
    assert AccountingSQL(KINDS["payment"], "books", options,
                         "postgresql").unlinked_by_numbers() is None  # payments have no number
