"""Every reference column is indexed, so deleting a row (discarding a preview's drafts, deleting
a draft invoice) looks its referrers up instead of scanning their tables once per deleted row."""

import pytest
import sqlalchemy as sa

from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.db.models import metadata
from hub.db.models._base import reference_index

#: Products are retired, never deleted: nothing looks their referrers up.
NOT_DELETED = {"product"}


def _indexed_first_columns(table: sa.Table) -> set[str]:
    firsts = {index.columns.values()[0].name for index in table.indexes}
    for constraint in table.constraints:
        if isinstance(constraint, (sa.UniqueConstraint, sa.PrimaryKeyConstraint)) \
                and len(constraint.columns):
            firsts.add(constraint.columns.values()[0].name)
    return firsts


def test_every_reference_to_a_deletable_row_is_indexed():
    unindexed = sorted(
        f"{table.name}.{fk.parent.name} -> {fk.column.table.name}"
        for table in metadata.sorted_tables for fk in table.foreign_keys
        if fk.column.table.name not in NOT_DELETED
        and fk.parent.name not in _indexed_first_columns(table))
    assert unindexed == []


def _plan(engine, sql: str) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")  # tiny tables: show the usable index
            return " ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {sql}"))
        return " ".join(r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))


def _foreign_key_lookups_use_the_partial_indexes(url: str) -> None:
    upgrade(url)  # the migrated schema, as a hub has it
    engine = make_engine(url)
    try:
        for table, column in [("invoice", "replaces_invoice_id"),
                              ("invoice", "converted_from_id"),
                              ("billingcycle", "invoice_id"),
                              ("futureitem", "remainder_of_id"),
                              ("creditnoteline", "invoice_line_id"),
                              ("ticketcharge", "invoice_line_id")]:
            # the look-up a foreign key check makes for a deleted row
            plan = _plan(engine, f"SELECT 1 FROM {table} WHERE {column} = 42")
            assert reference_index(table, column).name in plan, plan
    finally:
        engine.dispose()


def test_sqlite_looks_referrers_up_by_index(hub_sqlite_url):
    _foreign_key_lookups_use_the_partial_indexes(hub_sqlite_url)


@pytest.mark.postgres
def test_postgresql_looks_referrers_up_by_index(hub_postgres_url):
    _foreign_key_lookups_use_the_partial_indexes(hub_postgres_url)
