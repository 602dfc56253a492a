"""The audit trail is append-only in the migrated database itself (SQLite and PostgreSQL):
an UPDATE or DELETE of an audit row fails whoever issues it, and the migration goes down and
up again cleanly."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.db.engine import make_engine
from hub.db.migrate import upgrade


def _check(url: str) -> None:
    from alembic import command

    from hub.db.migrate import alembic_config

    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO audit_event (at, actor, via, action, summary, detail) "
                "VALUES (CURRENT_TIMESTAMP, 'cli:root', 'cli', 'test.done', '', '{}')"))
        for statement in ("UPDATE audit_event SET actor = 'someone else'",
                          "DELETE FROM audit_event"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                with engine.begin() as conn:
                    conn.execute(sa.text(statement))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT actor FROM audit_event")).scalars().all() == [
                "cli:root"]
        config = alembic_config(url)
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0001")
        upgrade(url)
    finally:
        engine.dispose()


def test_audit_rows_cannot_be_changed_or_deleted_on_sqlite(hub_sqlite_url):
    _check(hub_sqlite_url)


@pytest.mark.postgres
def test_audit_rows_cannot_be_changed_or_deleted_on_postgresql(hub_postgres_url):
    _check(hub_postgres_url)
