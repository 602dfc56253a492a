"""Every reference column is indexed, so deleting a row (discarding a preview's drafts, deleting
a draft invoice) looks its referrers up instead of scanning their tables once per deleted row.

The nullable ones have partial indexes (``IS NOT NULL``, see
:func:`hub.db.models._base.reference_index`): checked here in the migrated schema as a hub has
it, and in the look-ups the databases' own foreign key checks make."""

import pytest
import sqlalchemy as sa

from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.db.models import metadata

#: Products are retired, never deleted: nothing looks their referrers up.
NOT_DELETED = {"product"}


def _indexed_first_columns(table: sa.Table) -> set[str]:
    firsts = {index.columns.values()[0].name for index in table.indexes}
    for constraint in table.constraints:
        if isinstance(constraint, (sa.UniqueConstraint, sa.PrimaryKeyConstraint)) \
                and len(constraint.columns):
            firsts.add(constraint.columns.values()[0].name)
    return firsts


def _reference_indexes() -> list[tuple[str, str, str, str]]:
    """(index, table, column, referred table) of the models' partial reference indexes."""
    found = []
    for table in metadata.sorted_tables:
        for index in table.indexes:
            columns = list(index.columns)
            where = index.dialect_options["sqlite"]["where"]
            if len(columns) != 1 or where is None \
                    or str(where) != f"{columns[0].name} IS NOT NULL":
                continue
            (fk,) = columns[0].foreign_keys
            found.append((index.name, table.name, columns[0].name, fk.column.table.name))
    return sorted(found)


def test_every_reference_to_a_deletable_row_is_indexed():
    unindexed = sorted(
        f"{table.name}.{fk.parent.name} -> {fk.column.table.name}"
        for table in metadata.sorted_tables for fk in table.foreign_keys
        if fk.column.table.name not in NOT_DELETED
        and fk.parent.name not in _indexed_first_columns(table))
    assert unindexed == []
    assert {(t, c) for _, t, c, _ in _reference_indexes()} == {
        ("invoice", "replaces_invoice_id"), ("invoice", "converted_from_id"),
        ("billingcycle", "invoice_id"), ("futureitem", "remainder_of_id"),
        ("creditnoteline", "invoice_line_id"), ("ticketcharge", "invoice_line_id")}


def test_sqlite_checks_foreign_keys_through_the_partial_indexes(hub_sqlite_url):
    upgrade(hub_sqlite_url)
    engine = make_engine(hub_sqlite_url)  # foreign keys on, as for every hub connection
    try:
        with engine.connect() as conn:
            master = conn.exec_driver_sql(
                "SELECT name, rootpage, sql FROM sqlite_master WHERE type = 'index'").all()
            names = {root: name for name, root, _ in master}
            ddl = {name: sql for name, _, sql in master}
            for index, table, column, referred in _reference_indexes():
                assert ddl[index].endswith(f"WHERE {column} IS NOT NULL"), ddl[index]
                # the indexes (by root page, p2) a DELETE of the referred table opens: its
                # foreign key checks
                opened = {names.get(row[3]) for row in conn.exec_driver_sql(
                    f"EXPLAIN DELETE FROM {referred} WHERE id = 1") if row[1] == "OpenRead"}
                assert index in opened, (index, referred)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_checks_foreign_keys_through_the_partial_indexes(hub_postgres_url):
    upgrade(hub_postgres_url)
    engine = make_engine(hub_postgres_url)
    try:
        with engine.connect() as conn:
            ddl = dict(conn.exec_driver_sql("SELECT indexname, indexdef FROM pg_indexes").all())
            conn.exec_driver_sql("SET enable_seqscan = off")  # tiny tables: show what is usable
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            for n, (index, table, column, _) in enumerate(_reference_indexes()):
                assert ddl[index].endswith(f"WHERE ({column} IS NOT NULL)"), ddl[index]
                # the query PostgreSQL's foreign key check runs for a deleted row, planned
                # for any value of its parameter
                conn.exec_driver_sql(
                    f"PREPARE check_{n}(integer) AS SELECT 1 FROM ONLY {table} x "
                    f"WHERE $1 OPERATOR(pg_catalog.=) {column} FOR KEY SHARE OF x")
                plan = " ".join(row[0] for row in conn.exec_driver_sql(
                    f"EXPLAIN EXECUTE check_{n}(42)"))
                assert index in plan, plan
    finally:
        engine.dispose()
