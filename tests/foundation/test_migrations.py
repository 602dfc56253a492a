"""The Alembic migrations and the models describe the same schema, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.db.engine import make_engine
from hub.db.migrate import current_revision, upgrade
from hub.db.models import metadata


def _differences(url):
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    return diff


def test_migrations_match_models_on_sqlite(hub_sqlite_url):
    assert _differences(hub_sqlite_url) == []
    assert current_revision(hub_sqlite_url) is not None


@pytest.mark.postgres
def test_migrations_match_models_on_postgresql(hub_postgres_url):
    assert _differences(hub_postgres_url) == []


def test_db_upgrade_command_creates_the_schema(tmp_path, monkeypatch, capsys):
    from hub.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["db", "upgrade"]) == 0
    url = f"sqlite:///{(tmp_path / 'hub-data' / 'hub.sqlite').as_posix()}"
    assert current_revision(url) is not None
