"""Schema migrations with Alembic, driven from code (``hub db upgrade``).

The migration scripts ship inside the package (``hub/db/migrations``), so an installed hub can
migrate its database without a checkout or an ``alembic.ini``.
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from hub.db.engine import make_engine, normalise_url
from hub.errors import ValidationFailed

__all__ = ["alembic_config", "upgrade", "current_revision", "make_revision", "MIGRATIONS_DIR"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

#: What a revision id may be: it names a file in MIGRATIONS_DIR/versions.
_REV_ID = re.compile(r"[A-Za-z0-9_]+")


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged scripts and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", *, engine: Engine | None = None) -> None:
    """Migrate the database at ``url`` to ``revision``.

    Refuses (``ValidationFailed``) a revision no script has and one the database is already
    past: Alembic would do nothing for the latter and the caller would report a revision the
    database is not at. Upgrading never downgrades."""
    config = alembic_config(url)
    engine = engine or make_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        _check_target(connection, config, revision)
        command.upgrade(config, revision)


def _check_target(connection, config: Config, revision: str) -> None:
    """Refuse ``revision`` when it is unknown or behind the database's current revision."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    script = ScriptDirectory.from_config(config)
    try:
        target = script.get_revision(revision)  # None for "base"
    except CommandError:  # also a prefix matching several revisions
        raise ValidationFailed(f"no migration revision {revision!r}",
                               hint=f"run `hub db upgrade` for the newest "
                                    f"({script.get_current_head()})") from None
    current = MigrationContext.configure(connection).get_current_revision()
    if current is None or (target is not None and target.revision == current):
        return
    below = {r.revision for r in script.iterate_revisions(current, "base")}
    if target is None or target.revision in below:
        raise ValidationFailed(
            f"the database is at revision {current}, past {revision}; `hub db upgrade` never "
            "downgrades and nothing was changed",
            hint="to go back, restore a backup taken at that revision")


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None when it is empty."""
    with make_engine(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def make_revision(message: str, rev_id: str | None = None) -> str | None:
    """Autogenerate a migration from the difference between the models and the current head
    (computed on a scratch SQLite database). For developers; returns the new file's path.

    ``rev_id`` becomes part of a file name inside the package: anything but letters, digits
    and ``_`` (a ``/``, ``..``) is refused before anything is written."""
    import tempfile

    if rev_id is not None and not _REV_ID.fullmatch(rev_id):
        raise ValidationFailed(f"--rev-id {rev_id!r} is not a plain identifier",
                               hint="use letters, digits and _ only, e.g. 0009_invoice_notes")

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
