"""Schema migrations with Alembic, driven from code (``hub db upgrade``).

The migration scripts ship inside the package (``hub/db/migrations``), so an installed hub can
migrate its database without a checkout or an ``alembic.ini``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from hub.db.engine import make_engine, normalise_url

__all__ = ["alembic_config", "upgrade", "current_revision", "make_revision", "MIGRATIONS_DIR"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged scripts and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", *, engine: Engine | None = None) -> None:
    """Migrate the database at ``url`` to ``revision``."""
    config = alembic_config(url)
    engine = engine or make_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None when it is empty."""
    with make_engine(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def make_revision(message: str, rev_id: str | None = None) -> str | None:
    """Autogenerate a migration from the difference between the models and the current head
    (computed on a scratch SQLite database). For developers; returns the new file's path."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/scratch.sqlite"
        upgrade(url)
        config = alembic_config(url)
        engine = make_engine(url)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            script = command.revision(config, message=message, autogenerate=True, rev_id=rev_id)
        engine.dispose()
    return getattr(script, "path", None)
