"""SQLite: invoices and future items never take the id of a deleted row (AUTOINCREMENT)

A plain INTEGER PRIMARY KEY on SQLite hands the newest row's id out again once that row is
deleted, and the audit trail names rows by id: after ``hub ledger delete --completely`` of the
newest invoice (or ``hub org future-item-remove`` of the newest future item) the next one took
the same id and inherited the deleted row's audit events. AUTOINCREMENT makes SQLite remember
the largest id ever used (in ``sqlite_sequence``), so a deleted id stays unused.

On SQLite each table is rebuilt by Alembic's batch mode (new table, rows copied with their ids,
old table dropped, new one renamed), which keeps its columns, constraints, foreign keys and
indexes. Dropping a table that other tables reference needs foreign key enforcement off, and
SQLite only switches it outside a transaction: ``hub.db.migrate.upgrade`` does that for every
SQLite upgrade, checks every foreign key (``PRAGMA foreign_key_check``) before committing and
switches enforcement back on. Run any other way with enforcement on, this migration refuses
before changing anything.

``sqlite_sequence`` is then set to the largest id the database still names anywhere: the rows
themselves and, for ids deleted before this migration, the audit trail and the other plain
(not foreign key) references to invoices, so not even those ids are handed out again.

PostgreSQL sequences never hand an id out twice: nothing to do there.

Revision ID: 0009_ids_not_reused
Revises: 0008_login_failures
"""
from alembic import op

revision = '0009_ids_not_reused'
down_revision = '0008_login_failures'
branch_labels = None
depends_on = None

#: table -> the (table, id column, condition) of the places besides the table itself that may
#: still name one of its ids, deleted or not (none of them is a foreign key).
NAMED_ELSEWHERE = {
    'invoice': [
        ('audit_event', 'target_id', "target_type = 'invoice'"),
        ('outboxentry', 'document_id', "document_kind = 'invoice'"),
        ('externallink', 'document_id', "document_kind = 'invoice'"),
        ('document_send', 'document_id', "document_kind = 'invoice'"),
        ('job_record', 'document_id', "document_kind = 'invoice'"),
    ],
    'futureitem': [
        ('audit_event', 'target_id', "target_type = 'future_item'"),
    ],
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    if bind.exec_driver_sql('PRAGMA foreign_keys').scalar():
        # Dropping the old table would fail on (or, with ON DELETE actions, change) the rows
        # that refer to it; refuse while nothing is changed yet.
        raise RuntimeError('0009_ids_not_reused rebuilds tables and needs foreign key '
                           'enforcement off: run it with `hub db upgrade`')
    for table, named in NAMED_ELSEWHERE.items():
        with op.batch_alter_table(table, recreate='always',
                                  table_kwargs={'sqlite_autoincrement': True}):
            pass  # the rebuild itself is the change
        _remember_largest_id(bind, table, named)


def _remember_largest_id(bind, table: str, named) -> None:
    """Set ``table``'s ``sqlite_sequence`` row to the largest id still named anywhere, so the
    next row takes a larger one. (Copying the rows already set it to the largest id kept.)"""
    largest = [f'SELECT MAX(id) AS n FROM {table}']
    for other, column, condition in named:
        # audit_event.target_id is text: only whole numbers count.
        number = (f"CAST({column} AS INTEGER)" if other == 'audit_event' else column)
        digits = (f" AND {column} NOT GLOB '*[^0-9]*' AND {column} != ''"
                  if other == 'audit_event' else '')
        largest.append(f'SELECT MAX({number}) AS n FROM {other} WHERE {condition}{digits}')
    value = bind.exec_driver_sql(
        f"SELECT MAX(n) FROM ({' UNION ALL '.join(largest)})").scalar()
    if value is None:
        return  # nothing named yet: the first row takes id 1 as before
    updated = bind.exec_driver_sql(
        'UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?', (value, table)).rowcount
    if not updated:
        bind.exec_driver_sql('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)',
                             (table, value))


def downgrade() -> None:
    # Deliberately nothing: AUTOINCREMENT changes no column, constraint or index, so the schema
    # of 0008 and the code that uses it work unchanged on the rebuilt tables, and rebuilding
    # them once more (a second drop of referenced tables) would only bring the id reuse back.
    pass
