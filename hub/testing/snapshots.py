"""Every row of a hub database, to show that a refusal stored nothing: take one before and one
after and compare them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["every_row", "cli_rows"]


def every_row(database: Any) -> dict[str, list[str]]:
    """Each table's rows (as sorted ``repr`` strings) of the database at ``database``: an
    engine, a SQLAlchemy URL, or the path of an SQLite file. Only the tables it has: a database
    at an older revision (a migration test's) lacks those that later migrations add."""
    from sqlalchemy import inspect, select
    from sqlalchemy.engine import Engine

    from hub.db.engine import make_engine
    from hub.db.models import metadata

    if isinstance(database, Engine):
        database = database.url.render_as_string(hide_password=False)
    url = str(database) if "://" in str(database) else f"sqlite:///{database}"
    engine = make_engine(url)
    try:
        present = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            return {t.name: sorted(map(repr, conn.execute(select(t)).all()))
                    for t in metadata.sorted_tables if t.name in present}
    finally:
        engine.dispose()


def cli_rows(tmp_path: Path) -> dict[str, list[str]]:
    """:func:`every_row` of the database :func:`hub.testing.cli.real_cli` made in ``tmp_path``."""
    return every_row(tmp_path / "data" / "hub.sqlite")
