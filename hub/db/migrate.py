"""Schema migrations with Alembic, driven from code (``hub db upgrade``).

The migration scripts ship inside the package (``hub/db/migrations``), so an installed hub can
migrate its database without a checkout or an ``alembic.ini``.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, Engine

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
    database is not at. Upgrading never downgrades.

    On SQLite the migrations run with foreign key enforcement off (a migration may rebuild a
    table other tables refer to) and every foreign key is checked before they commit."""
    config = alembic_config(url)
    engine = engine or make_engine(url)
    with engine.connect() as connection, _foreign_keys_off(connection):
        with connection.begin():
            config.attributes["connection"] = connection
            _check_target(connection, config, revision)
            before = MigrationContext.configure(connection).get_current_revision()
            command.upgrade(config, revision)
            if MigrationContext.configure(connection).get_current_revision() != before:
                _check_foreign_keys(connection)


@contextmanager
def _foreign_keys_off(connection: Connection) -> Iterator[None]:
    """On SQLite, foreign key enforcement off for the migration, as SQLite's own recipe for
    rebuilding a table asks (https://sqlite.org/lang_altertable.html#otheralter): dropping a
    table that other tables refer to fails with enforcement on, even when its rows are copied
    back at once. The pragma is a no-op inside a transaction, so it is switched before the
    migration's transaction begins (on the driver's connection: SQLAlchemy would begin one) and
    checked; afterwards it is set back as it was for the pooled connection's next user. Other
    databases are left alone."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.driver_connection
    enforced = raw.execute("PRAGMA foreign_keys").fetchone()[0]
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        if raw.execute("PRAGMA foreign_keys").fetchone()[0]:
            raise RuntimeError("foreign key enforcement could not be switched off for the "
                               "migration (a transaction is open on its connection)")
        yield
    finally:
        raw.execute(f"PRAGMA foreign_keys={'ON' if enforced else 'OFF'}")


def _check_foreign_keys(connection: Connection) -> None:
    """Refuse (rolling the migration back) when a row refers to a row that is not there: with
    enforcement off on SQLite nothing else would notice a migration that broke a reference."""
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        shown = ", ".join(f"{table} row {rowid} -> {parent}"
                          for table, rowid, parent, _ in broken[:5])
        raise ValidationFailed(
            f"the migration would leave {len(broken)} reference(s) to missing rows ({shown}); "
            "nothing was changed", hint="restore the rows referred to, then upgrade again")


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
