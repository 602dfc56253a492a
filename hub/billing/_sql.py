"""Small SQL helpers shared by the billing services (dialect-specific upserts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

__all__ = ["insert_ignoring", "dialect_name"]


def dialect_name(session: Session) -> str:
    """``sqlite`` or ``postgresql``."""
    return session.get_bind().dialect.name


def insert_ignoring(session: Session, table: Any, conflict_columns: list[str]):
    """``INSERT ... ON CONFLICT (cols) DO NOTHING`` for ``table`` on this session's database.

    This is how exactly-once holds without an error visible to anyone: a row that a concurrent
    run already wrote (or is writing: PostgreSQL waits for it) is simply not inserted again.
    """
    name = dialect_name(session)
    module = {"sqlite": sqlite, "postgresql": postgresql}.get(name)
    if module is None:
        raise NotImplementedError(f"billing needs SQLite or PostgreSQL, not {name}")
    return module.insert(table).on_conflict_do_nothing(index_elements=conflict_columns)
