"""Alembic environment: uses the hub's models as the target metadata."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

import hub.db.models  # noqa: F401 - registers every table
from hub.db.engine import make_engine
from hub.db.types import ExactDecimal
from sqlmodel import SQLModel

target_metadata = SQLModel.metadata
config = context.config


def render_item(type_, obj, autogen_context):
    """Render our exact-decimal columns as themselves, with their import."""
    if type_ == "type" and isinstance(obj, ExactDecimal):
        autogen_context.imports.add("import hub.db.types")
        return f"hub.db.types.ExactDecimal(scale={obj.scale})"
    return False


def _configure(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      render_item=render_item, compare_type=True)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `hub db upgrade`")
run_migrations_online()
